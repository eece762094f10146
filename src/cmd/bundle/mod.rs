//! `crossbench bundle`: a self-contained, relocatable directory (and tarball)
//! that a machine without a package registry runs from in two commands,
//! `./install.sh` and `bin/crossbench bench ...` (docs/bundle.md).
//!
//! Layout: `bin/` (crossbench, the mock worker, the native runner, the Go
//! worker), `lib/` (the shim and BLAS forwarder; install.sh adds `lib/mlx` and
//! `lib/openblas`), `workers/python/`, `scenarios/`, `scripts/` (the pins),
//! `.cache/tokenizer-mistral-v3/`, `wheels/`, `install.sh`, and the manifest
//! `crossbench-bundle.json`, written last: its presence marks a finished
//! bundle (setup::locate).

mod manifest;
mod runpath;
mod wheels;

use crate::setup::{first_use, go_build, locate};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

const INSTALL_SH: &str = include_str!("install.sh");

#[derive(clap::Args)]
pub struct BundleArgs {
    /// The bundle directory to write (must not exist, or be empty; see --force).
    #[arg(long)]
    out: PathBuf,
    /// Also write OUT.tar.gz beside it.
    #[arg(long)]
    tar: bool,
    /// Wheels for this Python version too (repeatable); this environment's
    /// version is always included. The lock must serve it.
    #[arg(long = "python-version", value_name = "X.Y")]
    python_versions: Vec<String>,
    /// Also MLX's CUDA build (mlx-cuda-13 and its CUDA library wheels, several
    /// hundred MB); install.sh picks it where nvidia-smi sees a GPU.
    #[arg(long)]
    cuda: bool,
    /// No wheels/: the target's install.sh must be given an environment with
    /// MLX (CROSSBENCH_VENV). For tests.
    #[arg(long)]
    no_wheels: bool,
    /// Without the Go worker (the go-cgo-* backends are then unavailable).
    #[arg(long)]
    no_go: bool,
    /// Strip the binaries' debug info (objcopy --strip-debug): ~100 MiB
    /// smaller; symbols stay, so profiles still name functions, not lines.
    #[arg(long)]
    strip_debug: bool,
    /// Empty a non-empty --out first.
    #[arg(long)]
    force: bool,
}

pub fn run(args: BundleArgs) -> Result<i32> {
    let home = locate::home().map_err(anyhow::Error::msg)?;
    if home.kind != locate::HomeKind::Checkout {
        bail!(
            "crossbench bundle runs from a checkout's build, not from a bundle ({} found {})",
            home.root.display(),
            home.found_by
        );
    }
    prepare_out(&args.out, args.force)?;
    let out = args.out.canonicalize()?;
    let root = &home.root;
    let go_version = copy_binaries(&out, &args)?;
    copy_tree_files(root, &out)?;
    if args.cuda && args.no_wheels {
        bail!("--cuda and --no-wheels: the CUDA variant is wheels");
    }
    let python_versions = if args.no_wheels {
        Vec::new()
    } else {
        fetch_wheels(&args, root, &out.join("wheels"))?
    };
    write_file(&out.join("install.sh"), INSTALL_SH, true)?;
    let facts = manifest::Facts {
        go_version,
        python_versions,
        cuda: args.cuda,
        wheels: !args.no_wheels,
    };
    let bytes = manifest::write(&out, &facts)?;
    eprintln!(
        "crossbench bundle: {} ({:.0} MiB); on the target: ./install.sh, then bin/crossbench bench --scenario gen100",
        out.display(),
        bytes as f64 / (1u64 << 20) as f64
    );
    if args.tar {
        let tar = write_tar(&out)?;
        println!("{}", tar.display());
    }
    println!("{}", out.display());
    Ok(0)
}

fn prepare_out(out: &Path, force: bool) -> Result<()> {
    if first_use::is_dir_nonempty(out) {
        if !force {
            bail!("--out {} is not empty (--force empties it)", out.display());
        }
        std::fs::remove_dir_all(out).with_context(|| format!("cannot empty {}", out.display()))?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))
}

/// bin/ and lib/, each RUNPATH cut to its `$ORIGIN` entries; returns the Go
/// version of the Go worker, if one was bundled.
fn copy_binaries(out: &Path, args: &BundleArgs) -> Result<Option<String>> {
    let exe = std::env::current_exe().context("cannot find this binary")?;
    let mut bins = vec![
        exe.clone(),
        locate::native_runner().map_err(anyhow::Error::msg)?,
    ];
    let mock = exe.with_file_name("crossbench-mock-worker");
    if mock.is_file() {
        bins.push(mock);
    }
    let mut go_version = None;
    if !args.no_go {
        let w = go_build::worker()
            .map_err(|e| anyhow::anyhow!("the Go worker: {e}\n(--no-go bundles without it)"))?;
        bins.push(w.exe.clone());
        go_version = Some(w.go_version);
    }
    let mut libs = vec![locate::shim_so().map_err(anyhow::Error::msg)?];
    libs.extend(locate::pypi_blas());
    for (dir, files) in [("bin", bins), ("lib", libs)] {
        std::fs::create_dir_all(out.join(dir))?;
        for src in files {
            let name = src.file_name().context("artifact without a file name")?;
            let dest = out.join(dir).join(name);
            std::fs::copy(&src, &dest)
                .with_context(|| format!("cannot copy {} (is it built?)", src.display()))?;
            if args.strip_debug {
                strip_debug(&dest)?;
            }
            runpath::cut_absolute(&dest)?;
        }
    }
    Ok(go_version)
}

fn strip_debug(file: &Path) -> Result<()> {
    let status = std::process::Command::new("objcopy")
        .arg("--strip-debug")
        .arg(file)
        .status()
        .context("--strip-debug: cannot run objcopy (binutils)")?;
    if !status.success() {
        bail!("objcopy --strip-debug {} failed ({status})", file.display());
    }
    Ok(())
}

/// The files a run reads from the home: workers, scenarios, pins, tokenizer.
fn copy_tree_files(root: &Path, out: &Path) -> Result<()> {
    copy_dir_files(
        &root.join("workers/python"),
        &out.join("workers/python"),
        "py",
    )?;
    copy_dir_files(&root.join("scenarios"), &out.join("scenarios"), "toml")?;
    std::fs::create_dir_all(out.join("scripts"))?;
    for f in ["requirements.txt", "requirements.lock"] {
        copy_file(&root.join("scripts").join(f), &out.join("scripts").join(f))?;
    }
    let tokenizer = first_use::tokenizer_dir()?;
    copy_dir_files(&tokenizer, &out.join(".cache/tokenizer-mistral-v3"), "")?;
    copy_file(&root.join("docs/bundle.md"), &out.join("README.md"))
}

/// Copies the files of `from` ending in `.ext` (every file for "") into `to`.
fn copy_dir_files(from: &Path, to: &Path, ext: &str) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let entries =
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?;
    for entry in entries {
        let path = entry?.path();
        let wanted = ext.is_empty() || path.extension().is_some_and(|x| x == ext);
        if path.is_file() && wanted {
            copy_file(&path, &to.join(path.file_name().unwrap()))?;
        }
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .map(drop)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))
}

fn write_file(path: &Path, text: &str, executable: bool) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    if executable {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// The wheels for this environment's Python and every --python-version.
fn fetch_wheels(args: &BundleArgs, root: &Path, dir: &Path) -> Result<Vec<String>> {
    let python = first_use::python()?;
    let mut versions = vec![wheels::python_version(&python)?];
    for v in &args.python_versions {
        if !versions.contains(v) {
            versions.push(v.clone());
        }
    }
    let req = wheels::WheelRequest {
        python: &python,
        root,
        python_versions: versions.clone(),
        cuda: args.cuda,
    };
    wheels::fetch(&req, dir)?;
    Ok(versions)
}

/// `OUT.tar.gz` beside the bundle, with the bundle's directory name inside.
fn write_tar(out: &Path) -> Result<PathBuf> {
    let name = out.file_name().context("--out has no directory name")?;
    let parent = out.parent().context("--out has no parent directory")?;
    let tar = parent.join(format!("{}.tar.gz", name.to_string_lossy()));
    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&tar)
        .arg("-C")
        .arg(parent)
        .arg(name)
        .status()
        .context("cannot run tar")?;
    if !status.success() {
        bail!("tar -czf {} failed ({status})", tar.display());
    }
    Ok(tar)
}
