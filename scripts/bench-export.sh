#!/usr/bin/env bash
# Benchmark: `skein export --format json` against `jq -c .` on the same deterministic file, in one run.
# Usage: scripts/bench-export.sh [LINES]   (default 1,000,000 lines, about 350 MB, in bench-data/)
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}
file=bench-data/bench-$lines.ndjson
mkdir -p bench-data
if [ ! -s "$file" ]; then
  echo "generating $file ..." >&2
  python3 scripts/gen-bench.py "$file" "$lines"
fi
swift build -c release --product skein >&2
bin=$(swift build -c release --show-bin-path)/skein
size=$(stat -c %s "$file")
mb=$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }')

measure() { # prints "seconds peak_kb"
  local t0 t1 rss
  t0=$(date +%s.%N)
  rss=$( { /usr/bin/time -f '%M' "$@" >/dev/null 2>/dev/null; } 2>&1 | tail -1 )
  t1=$(date +%s.%N)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') $rss"
}
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install -y time)" >&2; exit 1; }
# Warm the page cache so both read from memory.
cat "$file" >/dev/null
read -r skein_s skein_kb < <(measure "$bin" export --format json "$file")
read -r jq_s jq_kb < <(measure jq -c . "$file")
awk -v mb="$mb" -v s="$skein_s" -v j="$jq_s" -v sk="$skein_kb" -v jk="$jq_kb" -v n="$lines" 'BEGIN {
  printf "input: %d lines, %.1f MB\n", n, mb
  printf "skein export --format json: %7.3f s  %7.1f MB/s  peak %6.1f MB\n", s, mb / s, sk / 1024
  printf "jq -c .                   : %7.3f s  %7.1f MB/s  peak %6.1f MB\n", j, mb / j, jk / 1024
  printf "ratio (jq / skein): %.1fx\n", j / s
}'
