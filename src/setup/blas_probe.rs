//! Which kernel a preloaded OpenBLAS picks on this CPU. A DYNAMIC_ARCH
//! OpenBLAS chooses its core (Haswell, Zen, SkylakeX, ...) at load time, and
//! that choice, not the library's path, decides its speed, so every run
//! records it. The library is opened in a short-lived child process
//! (`crossbench blas-core PATH`) so the driver never hosts BLAS threads.

use std::ffi::{CStr, CString};
use std::process::Command;

use anyhow::{bail, Result};

/// Asks a child process for `openblas_get_corename()` of the library at
/// `path`; None when it is not OpenBLAS or the probe fails.
pub fn core_name(path: &str) -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe).args(["blas-core", path]).output().ok()?;
    let name = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !name.is_empty()).then_some(name)
}

/// The child's side: prints the core name, or fails.
pub fn print_core_name(path: &str) -> Result<i32> {
    let c_path = CString::new(path)?;
    // SAFETY: c_path is a valid NUL-terminated string for the call; dlopen
    // has no other preconditions and returns null on failure, checked below.
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        bail!("{path}: dlopen failed");
    }
    // SAFETY: handle is a live handle from dlopen and the symbol name is a
    // NUL-terminated literal; a null result is checked below.
    let sym = unsafe { libc::dlsym(handle, c"openblas_get_corename".as_ptr()) };
    if sym.is_null() {
        bail!("{path}: no openblas_get_corename (not OpenBLAS)");
    }
    // SAFETY: OpenBLAS declares `char* openblas_get_corename(void)`; the
    // symbol was found under that name, so calling it with that signature
    // is sound. It returns a pointer to a static NUL-terminated string.
    let name = unsafe {
        let f: extern "C" fn() -> *const libc::c_char = std::mem::transmute(sym);
        let p = f();
        if p.is_null() {
            bail!("{path}: openblas_get_corename returned null");
        }
        CStr::from_ptr(p).to_string_lossy().into_owned()
    };
    println!("{name}");
    Ok(0)
}
