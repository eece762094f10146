#!/usr/bin/env bash
# Runs the zero-copy tests (crates/crossbench-shim/tests/zero_copy.rs) under
# valgrind memcheck: they must show no invalid read or write. Then runs the
# deliberately unsound negative control, which memcheck must catch; otherwise
# a clean run would prove nothing. Needs valgrind (apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind not installed (apt-get install valgrind)"; exit 2; }
bin=$(cargo test --release -p crossbench-shim --test zero_copy --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*zero_copy[^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "could not build the zero_copy test binary"; exit 1; }
# Leaks are not the question here (MLX keeps process-lifetime caches).
vg=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=no --track-origins=no -q)
echo "== memcheck: zero-copy tests (must be clean)"
"${vg[@]}" "$bin" --test-threads=1
echo "== memcheck: negative control (must be reported)"
set +e
"${vg[@]}" "$bin" --test-threads=1 --ignored --exact negative_control_read_after_guard_drop 2>&1 | tee /tmp/memcheck-negative.log
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 99 ] || ! grep -q "Invalid read" /tmp/memcheck-negative.log; then
  echo "FAIL: memcheck did not report the negative control's read after free (rc=$rc)"; exit 1
fi
echo "OK: zero-copy tests clean under memcheck; the deliberate use-after-free was caught"
