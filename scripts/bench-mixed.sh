#!/usr/bin/env bash
# Benchmark: mixed platform formats against Skein's own convention, for the same simulated run.
#
# One `skein demo` run (scenario, seed and duration below) is written twice: as Skein's JSON
# convention (`--record FILE`) and in the platforms' own formats (`--platform-formats --record DIR`:
# aws logs tail text, wrangler tail JSON, a Vercel drain, pino, slog, the Postgres log). Both describe
# the same requests, so the fair comparison is the time to process each. The convention lines are
# also split into one file per service, so both sides go through the same multi-file merge path.
#
# Usage: scripts/bench-mixed.sh [DURATION] [SCENARIO] [SEED]   (default 10m incident 7; in bench-data/)
# Set CALLGRIND=1 to also count the instructions each export takes (all threads, valgrind; slow),
# the figure that does not move with the machine's load.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10m}
scenario=${2:-incident}
seed=${3:-7}
out=bench-data/mixed-$scenario-$seed-$duration
mkdir -p bench-data
swift build -c release --product skein >&2
bin=$(swift build -c release --show-bin-path)/skein

generate() { # DIR DURATION
  local d=$1 dur=$2
  if [ ! -s "$d/convention.ndjson" ]; then
    rm -rf "$d"; mkdir -p "$d"
    echo "generating $d ..." >&2
    "$bin" demo --scenario "$scenario" --seed "$seed" --duration "$dur" --speed max --no-tui \
      --record "$d/convention.ndjson" >/dev/null
    "$bin" demo --scenario "$scenario" --seed "$seed" --duration "$dur" --platform-formats \
      --record "$d/platform" --truth "$d/platform.truth.json" >&2
    # The same lines, one file per service (as separate collectors would write them).
    mkdir -p "$d/convention-split"
    awk -v dir="$d/convention-split" '{
      s = "other"; if (match($0, /"service":"[^"]*"/)) s = substr($0, RSTART + 11, RLENGTH - 12)
      print > (dir "/" s ".ndjson") }' "$d/convention.ndjson"
  fi
}
generate "$out" "$duration"

count_lines() { cat "$@" | wc -l; }
bytes() { cat "$@" | wc -c; }
measure() { # prints seconds
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
platform_files=$(find "$out/platform" -type f | sort)
split_files=$(find "$out/convention-split" -type f | sort)
# shellcheck disable=SC2086
{ cat $platform_files $split_files "$out/convention.ndjson" >/dev/null; }  # warm the page cache
# shellcheck disable=SC2086
p_lines=$(count_lines $platform_files); p_bytes=$(bytes $platform_files)
c_lines=$(count_lines "$out/convention.ndjson"); c_bytes=$(bytes "$out/convention.ndjson")
cpus=$(nproc); load=$(cut -d' ' -f1 /proc/loadavg)

p_s=$(measure "$bin" export --format json "$out/platform")
cs_s=$(measure "$bin" export --format json "$out/convention-split")
c_s=$(measure "$bin" export --format json "$out/convention.ndjson")
awk -v ps="$p_s" -v cs="$cs_s" -v c1="$c_s" -v pl="$p_lines" -v pb="$p_bytes" -v cl="$c_lines" -v cb="$c_bytes" \
    -v sc="$scenario" -v seed="$seed" -v dur="$duration" -v cpus="$cpus" -v load="$load" 'BEGIN {
  printf "run: demo --scenario %s --seed %s --duration %s   (%s cores, load %s when starting)\n", sc, seed, dur, cpus, load
  printf "%-34s %8s %10s %9s %8s %12s\n", "input", "lines", "MB", "seconds", "MB/s", "lines/s"
  printf "%-34s %8d %10.1f %9.3f %8.1f %12.0f\n", "platform formats (dir, 7 files)", pl, pb / 1e6, ps, pb / 1e6 / ps, pl / ps
  printf "%-34s %8d %10.1f %9.3f %8.1f %12.0f\n", "convention split per service (dir)", cl, cb / 1e6, cs, cb / 1e6 / cs, cl / cs
  printf "%-34s %8d %10.1f %9.3f %8.1f %12.0f\n", "convention, one file", cl, cb / 1e6, c1, cb / 1e6 / c1, cl / c1
  printf "same run, platform speed / convention speed: %.2f (split dir), %.2f (one file); target >= 0.50\n", cs / ps, c1 / ps
}'

if [ "${CALLGRIND:-0}" = 1 ]; then
  # Instructions are the steady figure on a busy machine: the same count whatever else runs.
  command -v valgrind >/dev/null || { echo "CALLGRIND=1 needs valgrind" >&2; exit 1; }
  # valgrind cannot read this toolchain's DWARF: profile a copy without it (names stay).
  strip --strip-debug -o bench-data/skein-nodebug "$bin"
  declare -A total
  for what in platform convention-split convention.ndjson; do
    f=$(mktemp)
    if ! valgrind --tool=callgrind --callgrind-out-file="$f" bench-data/skein-nodebug export --format json "$out/$what" >/dev/null 2>"$f.err"; then
      echo "callgrind failed on $what: $(grep -m1 -i 'giving up\|error' "$f.err" || tail -1 "$f.err")" >&2
      rm -f "$f" "$f.err"; continue
    fi
    ir=$(grep -m1 '^summary:' "$f" | awk '{ print $2 }')
    total[$what]=$ir
    n=$(find "$out/$what" -type f -exec cat {} + | wc -l)
    awk -v w="$what" -v ir="$ir" -v n="$n" 'BEGIN { printf "callgrind %-18s %13.0f instructions (all threads), %7d lines, %8.0f per line\n", w, ir, n, ir / n }'
    rm -f "$f" "$f.err"
  done
  if [ -n "${total[platform]:-}" ] && [ -n "${total[convention.ndjson]:-}" ]; then
    awk -v p="${total[platform]}" -v s="${total[convention-split]:-0}" -v c="${total[convention.ndjson]}" 'BEGIN {
      printf "same run by instructions, convention / platform: %.2f (split dir), %.2f (one file); target >= 0.50\n", s / p, c / p }'
  fi
fi
