#!/usr/bin/env bash
# Builds the fuzz targets, writes the seed corpus from retrace's own example lines, and runs each
# target for SECONDS (default 300) one after the other. Crashes land in fuzz/artifacts/TARGET/;
# the corpus grows in fuzz/corpus/TARGET/ (both ignored by git).
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). The toolchain here is stable, so the build uses
# RUSTC_BOOTSTRAP=1 for libFuzzer's flags and no sanitizer (`-s none`): retrace is safe Rust (but for
# a few small blocks: SIMD loads and slicing between known quotes in the JSON scanner, one map
# lookup in aggregation, prctl at start), and
# what the targets look for is panics, hangs, broken line accounting and fast paths that read a
# line differently from the full parse.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
seconds="${1:-300}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(detect_and_parse json_dialects text_layouts postgres syslog alert_payloads
             fast_paths chunked report)
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
export RUSTC_BOOTSTRAP=1

(cd "$here/.." && cargo build --release --quiet)
python3 "$here/make_seeds.py" "$here/../target/release/retrace"
(cd "$here" && cargo fuzz build -s none --release)

bin="$CARGO_TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/release"
for t in "${targets[@]}"; do
    mkdir -p "$here/artifacts/$t"
    echo "== $t: ${seconds}s"
    "$bin/$t" "$here/corpus/$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
        -artifact_prefix="$here/artifacts/$t/" 2>&1 | grep -E '^#[0-9]+ +DONE|panicked|ERROR' || true
done
echo "crashes (if any):"
find "$here/artifacts" -type f -name 'crash-*' -o -type f -name 'timeout-*' -o -type f -name 'oom-*'
