//! `crossbench-bundle.json`: what a bundle is (versions, commit, what it holds)
//! and the sha256 of every file in it, so that a copy can be checked
//! (`sha256sum`) and results can name the bundle they came from.

use super::wheels::sha256_file;
use crate::setup::locate::BUNDLE_MANIFEST;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// What the manifest records besides the files.
pub struct Facts {
    pub go_version: Option<String>,
    pub python_versions: Vec<String>,
    pub cuda: bool,
    pub wheels: bool,
}

/// Writes the manifest last (it marks a finished bundle); returns the bundle's size in bytes.
pub fn write(out: &Path, facts: &Facts) -> Result<u64> {
    let mut files = BTreeMap::new();
    let mut bytes = 0;
    walk(out, out, &mut files, &mut bytes)?;
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let manifest = serde_json::json!({
        "format": 1,
        "crossbench_version": env!("CARGO_PKG_VERSION"),
        "git_commit": env!("CROSSBENCH_GIT_COMMIT"),
        "rustc_version": env!("CROSSBENCH_RUSTC_VERSION"),
        "mlx_version": crossbench_shim::mlx_version(),
        "go_version": facts.go_version,
        "python_versions": facts.python_versions,
        "wheels": facts.wheels,
        "cuda": facts.cuda,
        "target": format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        "created_unix": created,
        "install": "./install.sh, then bin/crossbench bench --scenario gen100 [--device gpu]",
        "sha256": files,
    });
    let path = out.join(BUNDLE_MANIFEST);
    let text = serde_json::to_string_pretty(&manifest)? + "\n";
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(bytes)
}

/// Every regular file under `dir`, by path relative to `base`.
fn walk(
    base: &Path,
    dir: &Path,
    files: &mut BTreeMap<String, String>,
    bytes: &mut u64,
) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(base, &path, files, bytes)?;
        } else if kind.is_file() {
            let rel = path.strip_prefix(base)?.to_string_lossy().into_owned();
            *bytes += entry.metadata()?.len();
            files.insert(rel, sha256_file(&path)?);
        }
    }
    Ok(())
}
