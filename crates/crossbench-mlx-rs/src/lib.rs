//! The Mistral forward pass written in Rust over mlx-rs 0.33 (the `mlx-rs`
//! backend): the same model, op order and generation loop as the C++ shim, but
//! every MLX operation is a call from Rust into mlx-c. `ops::calls()` counts them.
//!
//! Everything but the error type, config.json and the checkpoint checks needs
//! the `mlx-rs` feature (see Cargo.toml).

pub mod checkpoint;
pub mod config;
#[cfg(feature = "mlx-rs")]
pub mod generate;
#[cfg(feature = "mlx-rs")]
pub mod loader;
#[cfg(feature = "mlx-rs")]
pub mod model;
#[cfg(feature = "mlx-rs")]
pub mod ops;

#[cfg(feature = "mlx-rs")]
pub use generate::{Counters, Sampling, Session};
#[cfg(feature = "mlx-rs")]
pub use model::Model;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Format(String),
    #[error("{0}")]
    Shape(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Argument(String),
    #[error("MLX error: {0}")]
    Mlx(String),
}

impl Error {
    /// The protocol error code, named like the shim's (CB_ERR_*).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io(_) => "CB_ERR_IO",
            Error::Format(_) => "CB_ERR_FORMAT",
            Error::Shape(_) => "CB_ERR_SHAPE",
            Error::Unsupported(_) => "CB_ERR_UNSUPPORTED",
            Error::Argument(_) => "CB_ERR_ARGUMENT",
            Error::Mlx(_) => "CB_ERR_RUNTIME",
        }
    }
}

/// Picks MLX's default device ("cpu" or "gpu") for this thread's later ops.
#[cfg(feature = "mlx-rs")]
pub fn set_device(device: &str) -> Result<(), Error> {
    let d = match device {
        "cpu" => mlx_rs::Device::cpu(),
        "gpu" => mlx_rs::Device::gpu(),
        other => {
            return Err(Error::Argument(format!(
                "unknown device '{other}' (cpu, gpu)"
            )))
        }
    };
    mlx_rs::Device::set_default(&d);
    Ok(())
}

/// MLX's default device as mlx-c reports it now: "cpu", "gpu" or "unknown".
#[cfg(feature = "mlx-rs")]
pub fn default_device() -> String {
    let kind = mlx_rs::Device::try_default().and_then(|d| d.get_type());
    match kind {
        Ok(mlx_rs::DeviceType::Cpu) => "cpu".into(),
        Ok(mlx_rs::DeviceType::Gpu) => "gpu".into(),
        Err(_) => "unknown".into(),
    }
}

/// Loads a model directory (see `loader`).
#[cfg(feature = "mlx-rs")]
pub fn load(dir: &std::path::Path) -> Result<Model, Error> {
    loader::load(dir)
}

/// MLX's peak allocator memory in bytes.
#[cfg(feature = "mlx-rs")]
pub fn peak_memory() -> u64 {
    mlx_rs::memory::peak_memory().map_or(0, |b| b as u64)
}

/// mlx-rs 0.33's random module seeds its implicit global key from macOS's
/// `mach_approximate_time` (declared by mach-sys, absent from Linux's libc).
/// We always pass explicit keys, but the symbol must resolve at link time.
#[cfg(all(feature = "mlx-rs", target_os = "linux"))]
#[no_mangle]
pub extern "C" fn mach_approximate_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
