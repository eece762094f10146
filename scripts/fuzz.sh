#!/usr/bin/env bash
# Builds the fuzz targets and runs each for a fixed time:
#
#   scripts/fuzz.sh <scenario|protocol|results|model_files|all> <seconds>
#
# scenario, protocol, results: Rust targets in fuzz/ (libfuzzer-sys on the
# stable toolchain: the coverage flags cargo-fuzz passes with --sanitizer none,
# overflow checks on). model_files: the C++ safetensors header and config.json
# readers (fuzz/cpp/), with clang's libFuzzer, ASan and UBSan.
#
# Seeds come from fuzz/corpus/<target>/ and are only read; what the fuzzer
# adds goes to $FUZZ_WORK/<target>/corpus (default fuzz/target/work, ignored
# by git), crash reproducers to $FUZZ_WORK/<target>/artifacts/. Exits 1 when
# a target crashed, hung or broke one of its checks, naming the reproducer.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(scenario protocol results model_files)
usage() {
  echo "usage: scripts/fuzz.sh <$(IFS='|'; echo "${ALL[*]}")|all> <seconds>" >&2
  exit 2
}
[ $# -eq 2 ] || usage
case "$1" in
  all) targets=("${ALL[@]}") ;;
  scenario | protocol | results | model_files) targets=("$1") ;;
  *) echo "scripts/fuzz.sh: unknown target '$1'" >&2; usage ;;
esac
secs=$2
[[ "$secs" =~ ^[1-9][0-9]*$ ]] || { echo "scripts/fuzz.sh: seconds must be a positive integer, got '$secs'" >&2; usage; }

work=${FUZZ_WORK:-fuzz/target/work}
host=$(rustc -vV | sed -n 's/^host: //p')

build_rust() {
  # --target keeps these flags off build scripts and proc macros, as cargo-fuzz does.
  RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks" \
    cargo build --release --locked --manifest-path fuzz/Cargo.toml --target "$host" \
    --target-dir fuzz/target --bins
}

build_cpp() {
  command -v clang++ >/dev/null || { echo "scripts/fuzz.sh: model_files needs clang++ (apt-get install clang)" >&2; exit 1; }
  mkdir -p fuzz/target/cpp
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Ishims/src -Ishims/include fuzz/cpp/model_files.cpp \
    shims/src/safetensors.cpp shims/src/config.cpp shims/src/json.cpp \
    -o fuzz/target/cpp/model_files
}

binary() {
  if [ "$1" = model_files ]; then echo fuzz/target/cpp/model_files
  else echo "fuzz/target/$host/release/$1"; fi
}

need_rust=0 need_cpp=0
for t in "${targets[@]}"; do
  if [ "$t" = model_files ]; then need_cpp=1; else need_rust=1; fi
done
[ "$need_rust" = 0 ] || build_rust
[ "$need_cpp" = 0 ] || build_cpp

failed=()
for t in "${targets[@]}"; do
  dir="$work/$t"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  echo "=== fuzz $t: ${secs}s (new inputs: $dir/corpus)"
  code=0
  dict=()  # libFuzzer dictionary of the format's keywords, where there is one
  [ ! -f "fuzz/dict/$t.dict" ] || dict=(-dict="fuzz/dict/$t.dict")
  # -timeout: an input taking 10 s is a hang. -rss_limit_mb: 2 GiB is a leak.
  "$(binary "$t")" "$dir/corpus" "fuzz/corpus/$t" -max_total_time="$secs" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
    "${dict[@]}" >"$dir/log" 2>&1 || code=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  echo "$t: ${execs:-?} executions, corpus $(find "$dir/corpus" -type f | wc -l) new + $(find "fuzz/corpus/$t" -type f | wc -l) seed inputs"
  if [ "$code" -ne 0 ]; then
    failed+=("$t")
    echo "$t: FAILED (exit $code); log $dir/log:" >&2
    grep -E "ERROR|panicked|INVARIANT|runtime error|SUMMARY|Test unit written" "$dir/log" | head -20 >&2 || tail -30 "$dir/log" >&2
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "scripts/fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
