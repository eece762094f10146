//! The resolution rule on made-up trees: a bundle, a checkout, a bare directory.

use super::*;
use std::fs;

fn tree(base: &Path, rel: &str, marker: Option<&str>) -> PathBuf {
    let dir = base.join(rel);
    fs::create_dir_all(dir.join("scenarios")).unwrap();
    fs::create_dir_all(dir.join("bin")).unwrap();
    if let Some(m) = marker {
        fs::write(dir.join(m), "{}").unwrap();
    }
    dir
}

fn inputs(exe: Option<PathBuf>, source_dir: &Path, fallback: bool) -> Inputs {
    Inputs {
        env_home: None,
        exe,
        source_dir: source_dir.to_path_buf(),
        source_fallback: fallback,
    }
}

#[test]
fn bundle_is_found_above_the_binary_wherever_it_was_moved() {
    let t = tempfile::tempdir().unwrap();
    let checkout = tree(t.path(), "src", Some("Cargo.toml"));
    let bundle = tree(t.path(), "moved/here", Some(BUNDLE_MANIFEST));
    let home = resolve(&inputs(
        Some(bundle.join("bin/crossbench")),
        &checkout,
        true,
    ))
    .unwrap();
    assert_eq!(home.root, bundle);
    assert_eq!(home.kind, HomeKind::Bundle);
    assert!(
        home.found_by.contains("above the binary"),
        "{}",
        home.found_by
    );
}

#[test]
fn checkout_is_found_above_its_target_directory() {
    let t = tempfile::tempdir().unwrap();
    let checkout = tree(t.path(), "co", Some("Cargo.toml"));
    let exe = checkout.join("target/release/crossbench");
    let home = resolve(&inputs(Some(exe), Path::new("/nonexistent"), false)).unwrap();
    assert_eq!((home.root, home.kind), (checkout, HomeKind::Checkout));
}

#[test]
fn env_home_wins_and_a_wrong_one_is_an_error_naming_it() {
    let t = tempfile::tempdir().unwrap();
    let bundle = tree(t.path(), "b", Some(BUNDLE_MANIFEST));
    let checkout = tree(t.path(), "co", Some("Cargo.toml"));
    let mut i = inputs(Some(checkout.join("target/release/x")), &checkout, true);
    i.env_home = Some(("CROSSBENCH_HOME", bundle.clone()));
    assert_eq!(resolve(&i).unwrap().root, bundle);
    i.env_home = Some(("CROSSBENCH_HOME", t.path().join("nope")));
    let err = resolve(&i).unwrap_err();
    assert!(
        err.contains("CROSSBENCH_HOME=") && err.contains("nope"),
        "{err}"
    );
}

#[test]
fn a_directory_without_marker_is_not_a_home() {
    let t = tempfile::tempdir().unwrap();
    let bare = tree(t.path(), "bare", None);
    assert_eq!(kind_of(&bare), None);
    assert_eq!(kind_of(t.path()), None);
}

#[test]
fn source_fallback_is_last_and_can_be_turned_off() {
    let t = tempfile::tempdir().unwrap();
    let checkout = tree(t.path(), "co", Some("Cargo.toml"));
    let stray = t.path().join("elsewhere/bin/crossbench");
    let home = resolve(&inputs(Some(stray.clone()), &checkout, true)).unwrap();
    assert_eq!(
        (home.root, home.kind),
        (checkout.clone(), HomeKind::Checkout)
    );
    let err = resolve(&inputs(Some(stray), &checkout, false)).unwrap_err();
    assert!(err.contains(NO_SOURCE_FALLBACK), "{err}");
    assert!(err.contains("elsewhere/bin"), "where it looked: {err}");
    assert!(err.contains(&checkout.display().to_string()), "{err}");
}
