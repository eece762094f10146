//! Which weight files a model directory has, each checked by the shim's rule
//! (shims/src/loader.cpp): every weight file (weight_map entries,
//! model.safetensors, or *.safetensors found in the directory) must resolve,
//! symlinks followed, inside the model directory, so a hostile index or a
//! planted symlink cannot make us open (and quote in errors) files elsewhere.
//! The Hugging Face hub cache keeps snapshots/<rev>/<file> as a symlink to
//! ../../blobs/<hash>: when the model directory's real parent is named
//! "snapshots", its sibling blobs/ directory is allowed too. A weight_map entry
//! itself must be a relative path without ".." (HF writes bare file names).

use crate::Error;
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

struct Roots {
    dir: PathBuf,
    blobs: Option<PathBuf>,
}

fn allowed_roots(dir: &Path) -> Result<Roots, Error> {
    let real = dir.canonicalize().map_err(|e| {
        Error::Io(format!(
            "cannot resolve model directory {}: {e}",
            dir.display()
        ))
    })?;
    let blobs = match real.parent() {
        Some(p) if p.file_name().is_some_and(|n| n == "snapshots") => p
            .parent()
            .and_then(|repo| repo.join("blobs").canonicalize().ok()),
        _ => None,
    };
    Ok(Roots { dir: real, blobs })
}

/// Why `file` may not be read, or None when it is a regular file (not a FIFO
/// that would block, not a directory) inside the allowed roots.
fn refuse_reason(roots: &Roots, file: &Path) -> Option<String> {
    let real = match file.canonicalize() {
        Ok(r) => r,
        Err(e) => return Some(format!("cannot be resolved: {e}")),
    };
    let inside =
        real.starts_with(&roots.dir) || roots.blobs.as_ref().is_some_and(|b| real.starts_with(b));
    if !inside {
        return Some(format!(
            "resolves to {}, outside the model directory {}",
            real.display(),
            roots.dir.display()
        ));
    }
    match std::fs::metadata(&real) {
        Ok(m) if m.is_file() => None,
        _ => Some("is not a regular file".into()),
    }
}

/// One weight_map value (`at` names it), checked by the rule above.
fn entry_file(
    dir: &Path,
    roots: &Roots,
    at: &str,
    v: &serde_json::Value,
) -> Result<PathBuf, Error> {
    let entry = v
        .as_str()
        .ok_or_else(|| Error::Format(format!("{at} is not a string")))?;
    let shown = format!("{at} = {entry:?}");
    let rel = Path::new(entry);
    let plain = rel
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if entry.is_empty() || entry.contains('\0') || !plain {
        return Err(Error::Format(format!(
            "{shown}: must be a relative path inside the model directory (no absolute path, no '..')"
        )));
    }
    let full = dir.join(rel);
    if !full.exists() {
        return Err(Error::Io(format!(
            "{shown}: weight file not found: {}",
            full.display()
        )));
    }
    match refuse_reason(roots, &full) {
        Some(why) => Err(Error::Format(format!("{shown} {why}"))),
        None => Ok(full),
    }
}

fn index_files(dir: &Path, index: &Path) -> Result<Vec<PathBuf>, Error> {
    let text = std::fs::read_to_string(index)
        .map_err(|e| Error::Io(format!("{}: {e}", index.display())))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::Format(format!("{}: {e}", index.display())))?;
    let map = v
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| Error::Format(format!("{}: missing weight_map object", index.display())))?;
    let roots = allowed_roots(dir)?;
    let mut files = BTreeSet::new();
    for (name, f) in map {
        let at = format!("{}: weight_map[{name:?}]", index.display());
        files.insert(entry_file(dir, &roots, &at, f)?);
    }
    Ok(files.into_iter().collect())
}

fn listed_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files = if dir.join("model.safetensors").exists() {
        vec![dir.join("model.safetensors")]
    } else {
        std::fs::read_dir(dir)
            .map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
            .collect()
    };
    files.sort();
    if files.is_empty() {
        return Err(Error::Io(format!(
            "no *.safetensors files in {}",
            dir.display()
        )));
    }
    let roots = allowed_roots(dir)?;
    for f in &files {
        if let Some(why) = refuse_reason(&roots, f) {
            return Err(Error::Format(format!("weight file {} {why}", f.display())));
        }
    }
    Ok(files)
}

/// The weight files of `dir`: its index's shards, else model.safetensors,
/// else every *.safetensors file, sorted; each one checked as above.
pub fn weight_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let index = dir.join("model.safetensors.index.json");
    if index.exists() {
        return index_files(dir, &index);
    }
    listed_files(dir)
}
