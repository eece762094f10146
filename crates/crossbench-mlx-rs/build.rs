//! Links this crate's tests against the pinned wheel's libmlx (found like the
//! shim finds it) and gives them an rpath to it; mlx-sys itself only names `mlx`.
fn main() {
    println!("cargo:rerun-if-env-changed=MLX_DIR");
    println!("cargo:rerun-if-env-changed=CROSSBENCH_VENV");
    if std::env::var_os("CARGO_FEATURE_MLX_RS").is_none() {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mlx = mlx_locate::find_or_bootstrap(&root, &mut |l| println!("cargo:warning={l}"))
        .unwrap_or_else(|e| panic!("crossbench-mlx-rs: cannot find MLX: {e}"));
    println!("cargo:rustc-link-search=native={}", mlx.lib_dir.display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", mlx.lib_dir.display());
}
