//! The real backends: the registry of how each one's worker starts, and the
//! worker process of the in-process (Rust) backends.

mod ffi_serve;
pub mod in_process_worker;
#[cfg(feature = "mlx-rs")]
pub mod mlx_rs_engine;
mod registry;

pub use registry::{registry, resolve, MLX_RS_HOW};
