//! Cuts an ELF file's RUNPATH to its `$ORIGIN`-relative entries.
//!
//! Every binary the build links lists `$ORIGIN/...` entries first and the
//! build's absolute libmlx directory after them (crates/crossbench-shim/build.rs,
//! build.rs, src/setup/go_build.rs): the absolute one serves a checkout; in a
//! bundle it would point at the machine that built it. Ending the string with a
//! NUL where the first absolute entry begins shortens it in place: no section
//! moves, and no other string of `.dynstr` changes, even one the linker merged
//! into the RUNPATH's tail. No patchelf needed.

use anyhow::{bail, Context, Result};
use std::path::Path;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const DT_NULL: u64 = 0;
const DT_STRTAB: u64 = 5;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;

/// Where the RUNPATH (or RPATH) string lies in the file, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPath {
    pub offset: usize,
    pub text: String,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The RUNPATH of a 64-bit little-endian ELF file; None if it has none.
pub fn find(bytes: &[u8]) -> Result<Option<RunPath>> {
    if bytes.get(..6) != Some(b"\x7fELF\x02\x01".as_slice()) {
        bail!("not a 64-bit little-endian ELF file");
    }
    let bad = || anyhow::anyhow!("truncated or malformed ELF headers");
    let phoff = u64_at(bytes, 0x20).ok_or_else(bad)? as usize;
    let phentsize = u16_at(bytes, 0x36).ok_or_else(bad)? as usize;
    let phnum = u16_at(bytes, 0x38).ok_or_else(bad)? as usize;
    // (type, file offset, virtual address, size in the file)
    let mut segments = Vec::with_capacity(phnum);
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        segments.push((
            u32_at(bytes, at).ok_or_else(bad)?,
            u64_at(bytes, at + 8).ok_or_else(bad)?,
            u64_at(bytes, at + 16).ok_or_else(bad)?,
            u64_at(bytes, at + 32).ok_or_else(bad)?,
        ));
    }
    let Some(&(_, dyn_off, _, dyn_size)) = segments.iter().find(|s| s.0 == PT_DYNAMIC) else {
        return Ok(None); // statically linked
    };
    let (mut strtab, mut path) = (None, None);
    for at in (dyn_off..dyn_off + dyn_size).step_by(16) {
        let tag = u64_at(bytes, at as usize).ok_or_else(bad)?;
        let val = u64_at(bytes, at as usize + 8).ok_or_else(bad)?;
        match tag {
            DT_NULL => break,
            DT_STRTAB => strtab = Some(val),
            DT_RUNPATH | DT_RPATH => path = Some(val),
            _ => {}
        }
    }
    let (Some(strtab), Some(path)) = (strtab, path) else {
        return Ok(None);
    };
    // DT_STRTAB is an address: the loadable segment holding it gives its offset.
    let load = segments
        .iter()
        .find(|s| s.0 == PT_LOAD && s.2 <= strtab && strtab < s.2 + s.3)
        .ok_or_else(|| anyhow::anyhow!("no loadable segment holds .dynstr"))?;
    let offset = (strtab - load.2 + load.1 + path) as usize;
    let tail = bytes.get(offset..).ok_or_else(bad)?;
    let end = tail.iter().position(|&c| c == 0).ok_or_else(bad)?;
    let text = String::from_utf8_lossy(&tail[..end]).into_owned();
    Ok(Some(RunPath { offset, text }))
}

/// The leading `$ORIGIN` entries of a RUNPATH, and whether any entry follows them.
pub fn relative_prefix(text: &str) -> (String, bool) {
    let entries: Vec<&str> = text.split(':').collect();
    let kept: Vec<&str> = entries
        .iter()
        .take_while(|e| e.starts_with("$ORIGIN"))
        .copied()
        .collect();
    let cut = kept.len() < entries.len();
    (kept.join(":"), cut)
}

/// Cuts `path`'s RUNPATH after its `$ORIGIN` entries, in place; returns the
/// RUNPATH it has now (None: the file has none, e.g. a pure Rust binary).
pub fn cut_absolute(path: &Path) -> Result<Option<String>> {
    let mut bytes =
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let found = find(&bytes).with_context(|| format!("{}", path.display()))?;
    let Some(rp) = found else {
        return Ok(None);
    };
    let (kept, cut) = relative_prefix(&rp.text);
    if kept.is_empty() {
        bail!(
            "{}: its RUNPATH {} has no leading $ORIGIN entry (built before crossbench's \
             relocatable RUNPATHs?): rebuild with cargo build --release",
            path.display(),
            rp.text
        );
    }
    if cut {
        bytes[rp.offset + kept.len()] = 0;
        std::fs::write(path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(Some(kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_leading_origin_entries_only() {
        let (kept, cut) = relative_prefix("$ORIGIN/../lib/mlx:/home/x/.venv/mlx/lib");
        assert_eq!((kept.as_str(), cut), ("$ORIGIN/../lib/mlx", true));
        assert_eq!(
            relative_prefix("$ORIGIN/mlx"),
            ("$ORIGIN/mlx".into(), false)
        );
        assert_eq!(relative_prefix("/abs:$ORIGIN/x").0, "");
    }

    #[test]
    fn the_native_runner_keeps_only_its_relative_runpath() {
        let t = tempfile::tempdir().unwrap();
        let copy = t.path().join("runner");
        std::fs::copy(crossbench_shim::native_runner_path(), &copy).unwrap();
        let before = find(&std::fs::read(&copy).unwrap()).unwrap().unwrap();
        assert!(
            before.text.starts_with("$ORIGIN/../lib/mlx:/"),
            "{}",
            before.text
        );
        assert_eq!(
            cut_absolute(&copy).unwrap().as_deref(),
            Some("$ORIGIN/../lib/mlx")
        );
        let after = find(&std::fs::read(&copy).unwrap()).unwrap().unwrap();
        assert_eq!(after.text, "$ORIGIN/../lib/mlx");
        assert!(find(b"#!/bin/sh\n").is_err());
    }
}
