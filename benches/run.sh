#!/usr/bin/env bash
# The speed benchmark of issue 7 (a script, not a timed test). In one run, on the same files:
# retrace's end-to-end `report` throughput and peak memory on the ~1 GiB and ~4 GiB mixed
# incidents, plain and gzipped; `wc -l` on the same bytes (the read ceiling); `gzip -dc` (one
# core) against retrace on the gzipped files; `jq` selecting the errors of the JSON part against
# retrace on that file; `lnav` with a SQL GROUP BY on the access log against retrace on it.
#
#   benches/run.sh                 # everything (generates missing inputs first)
#   SIZES=1 benches/run.sh         # only the 1 GiB input
#   REPEAT=3 benches/run.sh        # best of 3 for every timed command (noisy machines)
#   BENCH_DIR=/data/bench benches/run.sh
#   RETRACE=/path/to/retrace benches/run.sh   # measure that binary (no build)
#
# Needs: apt-get (jq, lnav, GNU time, gzip through scripts/install-bench-deps.sh), cargo, and
# about 11 GB of disk for the inputs. Wall-clock times are shown beside CPU times (user + sys):
# on a shared machine the CPU time is the steadier number.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bench_dir="${BENCH_DIR:-/tmp/retrace-bench}"
sizes="${SIZES:-1 4}"
repeat="${REPEAT:-1}"
zone="America/New_York"

"$root/scripts/install-bench-deps.sh" >&2

cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
if [ -z "${RETRACE:-}" ]; then
    cargo build --release --quiet --bin retrace >&2
fi
retrace="${RETRACE:-$target/release/retrace}"

for n in $sizes; do
    dir="$bench_dir/${n}g"
    if [ ! -f "$dir/plain/app/auth.jsonl" ] || [ ! -f "$dir/gz/app/auth.jsonl.gz" ]; then
        echo "generating $dir (${n} GiB, plain and gzipped)..." >&2
        cargo run --release --quiet --example bench_input -- "$dir" --gib "$n" >&2
    fi
done

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# Runs a command `repeat` times (stdout discarded) and prints the best run as
# "wall user sys peak_kib" (seconds, seconds, seconds, KiB).
timed() {
    local best=""
    for _ in $(seq "$repeat"); do
        /usr/bin/time -f "%e %U %S %M" -o "$out/time" "$@" >/dev/null 2>"$out/stderr" || {
            echo "failed: $*" >&2
            cat "$out/stderr" >&2
            exit 1
        }
        local line
        line="$(tail -n 1 "$out/time")"
        if [ -z "$best" ] || awk -v a="${line%% *}" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then
            best="$line"
        fi
    done
    echo "$best"
}

# retrace's whole report (ingest, detection, impact, charts, files) on PATH.
report() {
    rm -rf "$out/report"
    timed "$retrace" report "$1" -o "$out/report" --force --tz "$zone" --quiet
}

bytes_of() { du -cb "$@" | tail -n 1 | cut -f 1; }
mib_s() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? b / 1048576 / s : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
row() {
    # label, bytes, "wall user sys kib"
    local wall user sys kib
    read -r wall user sys kib <<<"$3"
    printf "%-44s %8.2f s %8.2f s %8s MiB/s %8.0f MiB\n" "$1" "$wall" \
        "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" "$(mib_s "$2" "$wall")" \
        "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')"
}

echo "retrace speed benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -m)"
echo "retrace $(git -C "$root" rev-parse --short HEAD); best of $repeat; load before: $(cut -d ' ' -f 1-3 /proc/loadavg)"
printf "%-44s %10s %10s %14s %12s\n" "what" "wall" "cpu" "rate (plain)" "peak RSS"

declare -A wall_of rss_of
for n in $sizes; do
    dir="$bench_dir/${n}g"
    plain_files=("$dir"/plain/*/*)
    gz_files=("$dir"/gz/*/*)
    plain_bytes="$(bytes_of "${plain_files[@]}")"
    gz_bytes="$(bytes_of "${gz_files[@]}")"
    echo "--- ${n} GiB input: $((plain_bytes / 1048576)) MiB plain, $((gz_bytes / 1048576)) MiB gzipped"

    r="$(timed wc -l "${plain_files[@]}")"
    row "wc -l (read ceiling)" "$plain_bytes" "$r"
    wc_wall="${r%% *}"

    r="$(report "$dir/plain")"
    row "retrace report, plain" "$plain_bytes" "$r"
    wall_of[plain$n]="${r%% *}"
    read -r _ _ _ rss_of[plain$n] <<<"$r"

    r="$(timed sh -c 'for f in "$@"; do gzip -dc "$f"; done' sh "${gz_files[@]}")"
    row "gzip -dc, one core (decompression rate)" "$plain_bytes" "$r"
    gunzip_wall="${r%% *}"

    r="$(report "$dir/gz")"
    row "retrace report, gzipped" "$plain_bytes" "$r"
    wall_of[gz$n]="${r%% *}"
    read -r _ _ _ rss_of[gz$n] <<<"$r"

    echo "  retrace plain vs wc -l: $(ratio "$wc_wall" "${wall_of[plain$n]}")x;" \
        "retrace gz vs gzip -dc: $(awk -v a="$gunzip_wall" -v b="${wall_of[gz$n]}" 'BEGIN { printf "%.0f%%", 100 * a / b }') of the decompression rate"
done

# The competitors, on the 1 GiB input's parts (the smallest size asked for).
first="${sizes%% *}"
dir="$bench_dir/${first}g/plain"
json="$dir/app/auth.jsonl"
access="$dir/web/access.log"
echo "--- one file each, ${first} GiB input"

r="$(timed jq -c 'select(.level=="error")' "$json")"
row "jq -c 'select(.level==\"error\")' app JSON" "$(bytes_of "$json")" "$r"
jq_wall="${r%% *}"
r="$(report "$json")"
row "retrace report, app JSON" "$(bytes_of "$json")" "$r"
echo "  retrace vs jq: $(ratio "$jq_wall" "${r%% *}")x faster"

sql=';SELECT sc_status, count(*) AS requests FROM access_log GROUP BY sc_status ORDER BY sc_status'
r="$(timed lnav -n -c "$sql" "$access")"
row "lnav -n GROUP BY sc_status, access log" "$(bytes_of "$access")" "$r"
lnav_wall="${r%% *}"
r="$(report "$access")"
row "retrace report, access log" "$(bytes_of "$access")" "$r"
echo "  retrace vs lnav: $(ratio "$lnav_wall" "${r%% *}")x faster"

if [[ " $sizes " == *" 1 "* && " $sizes " == *" 4 "* ]]; then
    echo "--- memory: 4 GiB peak RSS vs 1 GiB: plain" \
        "$(awk -v a="${rss_of[plain4]}" -v b="${rss_of[plain1]}" 'BEGIN { printf "%+.0f%%", 100 * (a - b) / b }'), gz" \
        "$(awk -v a="${rss_of[gz4]}" -v b="${rss_of[gz1]}" 'BEGIN { printf "%+.0f%%", 100 * (a - b) / b }')"
fi
echo "load after: $(cut -d ' ' -f 1-3 /proc/loadavg)"
