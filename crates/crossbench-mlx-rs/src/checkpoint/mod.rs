//! Everything the mlx-rs loader checks before MLX opens a file, as the C++
//! shim does (shims/src/loader.cpp, safetensors.cpp): which weight files
//! (contained in the model directory), their headers, and every used tensor's
//! dtype and shape against config.json. Needs no MLX, so it builds and is
//! tested without the `mlx-rs` feature.

mod files;
mod safetensors;
mod validate;

pub use files::weight_files;
pub use safetensors::{read_header, TensorInfo};

use crate::config::{self, Config};
use crate::Error;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A model directory whose config, files and tensor headers all checked out.
#[derive(Debug)]
pub struct Checkpoint {
    pub cfg: Config,
    pub files: Vec<PathBuf>,
    /// Every tensor of every file, by name.
    pub tensors: BTreeMap<String, TensorInfo>,
}

/// Reads and checks `dir`; MLX may load its files afterwards.
pub fn open(dir: &Path) -> Result<Checkpoint, Error> {
    if !dir.is_dir() {
        return Err(Error::Io(format!(
            "model directory not found: {}",
            dir.display()
        )));
    }
    let cfg = config::load(dir)?;
    let files = weight_files(dir)?;
    let mut tensors: BTreeMap<String, TensorInfo> = BTreeMap::new();
    for f in &files {
        for (name, t) in read_header(f)? {
            if let Some(first) = tensors.get(&name) {
                // Which copy MLX would use is an accident of load order.
                return Err(Error::Format(format!(
                    "tensor {name:?} is in both {} and {}",
                    first.file.display(),
                    f.display()
                )));
            }
            tensors.insert(name, t);
        }
    }
    validate::validate(&cfg, &tensors, &dir.display().to_string())?;
    Ok(Checkpoint {
        cfg,
        files,
        tensors,
    })
}
