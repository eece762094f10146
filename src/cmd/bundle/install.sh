#!/bin/sh
# crossbench bundle: the offline install (docs/bundle.md). Creates .venv with this
# machine's python3 from the bundled wheels (no registry: pip --no-index, every
# file hash-checked), links lib/mlx (and lib/openblas) to them for the binaries,
# and checks that MLX imports and bin/crossbench starts.
#   ./install.sh           CUDA wheels where the bundle has them and nvidia-smi sees a GPU, else CPU
#   ./install.sh --cpu | --cuda
# PYTHON=python3.12 picks the interpreter. CROSSBENCH_VENV=DIR uses an existing
# environment with MLX instead and installs nothing (bench must then see the same
# CROSSBENCH_VENV).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
say() { echo "install.sh: $*"; }
die() { echo "install.sh: $*" >&2; exit 1; }

variant=auto
for arg in "$@"; do
  case $arg in
    --cpu) variant=cpu ;;
    --cuda) variant=cuda ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) die "unknown argument $arg (--cpu, --cuda)" ;;
  esac
done
if [ "$variant" = auto ]; then
  variant=cpu
  if [ -f "$here/wheels/cuda.lock" ] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    variant=cuda
  fi
fi

if [ -n "${CROSSBENCH_VENV:-}" ]; then
  venv=$CROSSBENCH_VENV
  say "using the existing environment $venv (CROSSBENCH_VENV); installing nothing"
else
  venv="$here/.venv"
  lock="$here/wheels/$variant.lock"
  [ -f "$lock" ] || die "$lock is missing: this bundle was made $( [ "$variant" = cuda ] && echo 'without --cuda' || echo 'with --no-wheels'); set CROSSBENCH_VENV to an environment with MLX"
  py=${PYTHON:-python3}
  command -v "$py" >/dev/null 2>&1 || die "no $py on PATH (set PYTHON=...)"
  ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  grep -qx "$ver" "$here/wheels/python-versions.txt" ||
    die "$py is Python $ver; the bundle has wheels for Python $(tr '\n' ' ' < "$here/wheels/python-versions.txt")(make it with crossbench bundle --python-version $ver, or set PYTHON)"
  if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv with $py (Python $ver)"
    "$py" -m venv "$venv"
  fi
  say "installing the $variant wheels from $here/wheels (offline, hash-checked)"
  # PIP_CONFIG_FILE=/dev/null: no machine-wide index or find-links adds to the bundle's.
  PIP_CONFIG_FILE=/dev/null "$venv/bin/python" -m pip install --disable-pip-version-check -q --no-index \
    --find-links "$here/wheels" --require-hashes -r "$lock"
fi

"$venv/bin/python" -c 'import mlx.core as mx; print("install.sh: MLX", mx.__version__, "imports; default device", mx.default_device())' ||
  die "MLX does not import in $venv"

# A symlink inside the bundle is relative, so that the bundle can still move.
link() { # link NAME TARGET_DIR
  case $2 in
    "$here"/*) rel="../${2#"$here"/}" ;;
    *) rel=$2 ;;
  esac
  rm -f "$here/lib/$1"
  ln -s "$rel" "$here/lib/$1"
  say "lib/$1 -> $rel"
}
mlx_lib=$("$venv/bin/python" -c 'import os, mlx.core as m; print(os.path.join(os.path.dirname(m.__file__), "lib"))')
[ -f "$mlx_lib/libmlx.so" ] || die "no libmlx.so in $mlx_lib"
link mlx "$mlx_lib"
if blas_lib=$("$venv/bin/python" -c 'import os, scipy_openblas32 as b; print(os.path.join(os.path.dirname(b.__file__), "lib"))' 2>/dev/null); then
  link openblas "$blas_lib"
fi

CROSSBENCH_VENV=$venv "$here/bin/crossbench" bench --list >/dev/null ||
  die "bin/crossbench does not start (libmlx through lib/mlx?)"
say "ready: $here/bin/crossbench bench --scenario gen100 $( [ "$variant" = cuda ] && echo '--device gpu' )"
