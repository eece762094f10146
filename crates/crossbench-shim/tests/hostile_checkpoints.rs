//! Hostile model directories: weight files that lie outside the directory
//! (index entries, symlinks), the Hugging Face cache layout that must keep
//! loading, duplicated tensors, and a FIFO where a file should be. Each is
//! refused with a clear error naming the file or index entry.

mod hostile;

use crossbench_shim::{ErrorKind, Model};
use hostile::{assert_refused, index, micro, shards, write_index, SMALL_SHARDS};
use std::os::unix::fs::symlink;
use std::path::Path;

/// Points the first tensor of the index at `entry`.
fn redirect_first(dir: &Path, entry: &str) -> String {
    let mut v = index(dir);
    let map = v["weight_map"].as_object_mut().unwrap();
    let name = map.keys().next().unwrap().clone();
    map.insert(name.clone(), entry.into());
    write_index(dir, &v);
    name
}

#[test]
fn weight_map_entries_outside_the_directory_are_refused() {
    let (outer, dir) = micro(SMALL_SHARDS);
    let first = dir.join(&shards(&dir)[0]);
    std::fs::copy(&first, outer.path().join("x.safetensors")).unwrap();
    let pristine = index(&dir);
    for entry in [
        "/etc/passwd",
        "../x.safetensors",
        "./../model/../x.safetensors",
    ] {
        write_index(&dir, &pristine);
        let tensor = redirect_first(&dir, entry);
        assert_refused(
            &dir,
            ErrorKind::Format,
            &["model.safetensors.index.json", &tensor, entry, "no '..'"],
        );
    }
    // A plain name that is a symlink leading out of the directory.
    symlink(
        outer.path().join("x.safetensors"),
        dir.join("link.safetensors"),
    )
    .unwrap();
    write_index(&dir, &pristine);
    redirect_first(&dir, "link.safetensors");
    assert_refused(
        &dir,
        ErrorKind::Format,
        &[
            "index.json",
            "link.safetensors",
            "outside the model directory",
        ],
    );
    // The untouched index still loads: the refusals were the entries.
    write_index(&dir, &pristine);
    Model::load(&dir).unwrap();
}

#[test]
fn a_symlinked_weight_file_outside_the_directory_is_refused_without_an_index() {
    let (outer, dir) = micro(0);
    let away = outer.path().join("elsewhere.safetensors");
    std::fs::rename(dir.join("model.safetensors"), &away).unwrap();
    symlink(&away, dir.join("model.safetensors")).unwrap();
    assert_refused(
        &dir,
        ErrorKind::Format,
        &["model.safetensors", "elsewhere.safetensors", "outside"],
    );
    // Inside the directory a symlink is fine.
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    std::fs::rename(&away, dir.join("real.bin")).unwrap();
    symlink("real.bin", dir.join("model.safetensors")).unwrap();
    Model::load(&dir).unwrap();
}

/// `hub/models--org--micro/{blobs/<hash>, snapshots/<rev>/<name> -> ../../blobs/<hash>}`,
/// as huggingface_hub writes its cache; returns the snapshot directory.
fn hf_cache_layout(outer: &Path, model: &Path) -> std::path::PathBuf {
    let repo = outer.join("hub/models--org--micro");
    let (blobs, snap) = (repo.join("blobs"), repo.join("snapshots/0123abc"));
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::create_dir_all(&snap).unwrap();
    for (i, e) in std::fs::read_dir(model).unwrap().enumerate() {
        let e = e.unwrap();
        let hash = format!("{i:040x}");
        std::fs::rename(e.path(), blobs.join(&hash)).unwrap();
        symlink(format!("../../blobs/{hash}"), snap.join(e.file_name())).unwrap();
    }
    snap
}

#[test]
fn the_hugging_face_cache_layout_loads_and_its_blobs_only() {
    for shard_bytes in [0, SMALL_SHARDS] {
        let (outer, dir) = micro(shard_bytes);
        let snap = hf_cache_layout(outer.path(), &dir);
        let m = Model::load(&snap).unwrap_or_else(|e| panic!("HF cache layout: {e}"));
        assert_eq!(m.info().unwrap().vocab_size, 256);
    }
    // A snapshot link that leaves the repo's blobs/ is refused all the same.
    let (outer, dir) = micro(SMALL_SHARDS);
    let snap = hf_cache_layout(outer.path(), &dir);
    let victim = snap.join(&shards(&snap)[0]);
    let away = outer.path().join("away.safetensors");
    std::fs::copy(&victim, &away).unwrap();
    std::fs::remove_file(&victim).unwrap();
    symlink(&away, &victim).unwrap();
    assert_refused(&snap, ErrorKind::Format, &["away.safetensors", "outside"]);
}

#[test]
fn a_tensor_in_two_shards_is_refused() {
    let (_outer, dir) = micro(SMALL_SHARDS);
    let first = shards(&dir)[0].clone();
    std::fs::copy(dir.join(&first), dir.join("copy.safetensors")).unwrap();
    let mut v = index(&dir);
    v["weight_map"]["extra"] = "copy.safetensors".into();
    write_index(&dir, &v);
    assert_refused(
        &dir,
        ErrorKind::Format,
        &["is in both", "copy.safetensors", &first],
    );
}

#[test]
fn a_fifo_in_place_of_the_weights_is_refused_not_waited_on() {
    let (_outer, dir) = micro(0);
    let file = dir.join("model.safetensors");
    std::fs::remove_file(&file).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&file)
        .status()
        .unwrap();
    assert!(made.success());
    // Opening a FIFO blocks until a writer comes: guard the test itself.
    let (tx, rx) = std::sync::mpsc::channel();
    let d = dir.clone();
    std::thread::spawn(move || tx.send(Model::load(&d).err().map(|e| (e.kind(), e.to_string()))));
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the loader hung on a FIFO");
    let (kind, msg) = got.expect("a FIFO must not load");
    assert_eq!(kind, ErrorKind::Format, "{msg}");
    assert!(msg.contains("not a regular file"), "{msg}");
}
