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
size=$(stat -L -c %s "$file")
mb=$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }')

measure() { # prints "elapsed_s user_s sys_s peak_kb"
  local out
  out=$(mktemp)
  # GNU time writes its report to -o: the command's own output and errors are discarded.
  /usr/bin/time -f '%e %U %S %M' -o "$out" "$@" >/dev/null 2>/dev/null
  tail -1 "$out"
  rm -f "$out"
}
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install -y time)" >&2; exit 1; }
# Warm the page cache so both read from memory.
cat "$file" >/dev/null
# Skein once untimed (the first run after a build also loads the new binary), then three times
# (this shared machine's speed drifts from run to run): the median run is reported, all three
# elapsed times listed. jq, at ten times as long, once.
"$bin" export --format json "$file" >/dev/null
runs=$(for _ in 1 2 3; do measure "$bin" export --format json "$file"; done | sort -n)
read -r skein_s skein_u skein_y skein_kb < <(echo "$runs" | sed -n 2p)
echo "skein runs (elapsed s): $(echo "$runs" | awk '{ print $1 }' | tr '\n' ' ')"
read -r jq_s jq_u jq_y jq_kb < <(measure jq -c . "$file")
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores; CPU seconds are the steadier figure when it is high)"
awk -v mb="$mb" -v s="$skein_s" -v j="$jq_s" -v sk="$skein_kb" -v jk="$jq_kb" -v n="$lines" \
    -v su="$skein_u" -v sy="$skein_y" -v ju="$jq_u" -v jy="$jq_y" 'BEGIN {
  printf "input: %d lines, %.1f MB\n", n, mb
  printf "skein export --format json (median of 3): %7.3f s  %7.1f MB/s  cpu %6.2f s (user %.2f)  peak %6.1f MB\n", s, mb / s, su + sy, su, sk / 1024
  printf "jq -c .                                  : %7.3f s  %7.1f MB/s  cpu %6.2f s (user %.2f)  peak %6.1f MB\n", j, mb / j, ju + jy, ju, jk / 1024
  printf "ratio (jq / skein), elapsed: %.1fx   cpu: %.1fx\n", j / s, (ju + jy) / (su + sy)
}'
