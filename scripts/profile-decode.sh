#!/usr/bin/env bash
# Instructions per line on each side of `skein export` (decode thread, engine thread), under callgrind.
#
# Counts instructions, not time: repeatable run to run on an idle machine. Under other load the split
# between the two threads shifts (how batches hand over depends on timing; seen: decoding 6.9k and
# engine 5.3k per line idle, 7.3k and 5.0k while a build ran), so compare runs taken alike. Callgrind
# runs one thread at a time, so the hand-over queue fills and the decoding thread destroys the
# events it gets back (`PipelinedReader.Channel.recycle`): per-thread counts from before that change
# (session 9) compare with later ones only as a sum.
# Usage: scripts/profile-decode.sh [LINES]   (default 20,000 lines of the benchmark's input)
# Needs a release build (`swift build -c release --product skein`) and valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-20000}
file=bench-data/bench-$lines.ndjson
mkdir -p bench-data
[ -s "$file" ] || python3 scripts/gen-bench.py "$file" "$lines"
bin=$(swift build -c release --show-bin-path)/skein
# valgrind 3.19 cannot read this toolchain's DWARF ("possibly corrupted debuginfo"): profile a copy
# without it (function names stay; source lines go).
strip --strip-debug -o bench-data/skein-nodebug "$bin"
bin=bench-data/skein-nodebug
out=bench-data/callgrind.out.$lines
rm -f "$out" "$out"-*
valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out" \
  "$bin" export --format json "$file" >/dev/null 2>bench-data/callgrind.log
# Thread 1 runs the engine (and startup, the report); the busiest other thread reads and decodes;
# the rest are the report's second writer. Valgrind gives an ended thread's number to the next one
# started, so that writer's half of the report is sometimes counted with the decoding thread's
# (about 10M instructions for 100k lines; `callgrind_annotate` on that thread shows
# CompactTraceWriter when it is): compare the sum of the threads, not the split.
decode=$(for f in "$out"-*; do
  t=${f##*-}; [ "$t" = 01 ] && continue
  echo "$(grep -m1 '^summary:' "$f" | awk '{ print $2 }') $t"
done | sort -n | tail -1 | awk '{ print $2 }')
for f in "$out"-*; do
  n=$(grep -m1 '^summary:' "$f" | awk '{ print $2 }')
  t=${f##*-}
  role=other; [ "$t" = 01 ] && role=engine; [ "$t" = "$decode" ] && role=decode
  awk -v n="$n" -v l="$lines" -v t="$t" -v r="$role" 'BEGIN { printf "thread %s (%s): %d instructions, %.0f per line\n", t, r, n, n / l }'
done
echo "details: callgrind_annotate --inclusive=yes $out-$decode | head -60"
