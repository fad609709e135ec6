#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer with AddressSanitizer) of the export path: bytes as a log file
# through the decoders and the engine to every export format and the dashboard's text views
# (scripts/fuzz/Harness.swift). Not a test: run it after changing a decoder.
# Usage: scripts/fuzz.sh [SECONDS] [auto|forced|otlp|collector]   (default 600 s, auto-detected formats;
# `forced` lets the first input byte pick the decoder, the dashboard's settings and the read slices;
# `otlp` feeds OTLP/HTTP protobuf bodies to the collector's decoder, seeded from requests built with
# the `opentelemetry-proto` Python package when it is installed; `collector` feeds whole requests to
# the collector's request handling, `RequestIngest.preflight` and `handle`: the first two bytes pick
# the endpoint, content type, encoding (the harness gzips or deflates the body for some), headers and
# settings (scripts/fuzz/CollectorHarness.swift); it builds SkeinCollector with swift-nio and
# swift-crypto in a package of its own, .build-fuzz/pkg-collector, so the other modes never build them).
# Builds a throw-away package under .build-fuzz/ (git-ignored) whose targets are symbolic links to
# the pipeline's sources; corpus, crashes and the log stay in .build-fuzz/work/. One worker: the
# other core stays free. A crash's input is in .build-fuzz/work/crashes/; replay it with
# `skein export FILE` (auto) or with the built fuzzer: `.build-fuzz/build/release/Fuzz FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
mode=${2:-auto}
root=$PWD
pkg=$root/.build-fuzz/pkg
work=$root/.build-fuzz/work
mkdir -p "$pkg/Sources/Fuzz" "$work/crashes" "$work/corpus-$mode" "$work/seeds-$mode"
# The pipeline's own targets, as in Package.swift: both throw-away packages list them.
pipeline_targets='        .target(name: "SkeinCore"),
        .target(name: "CSkeinSys"),
        .target(name: "SkeinDecoders", dependencies: ["SkeinCore", "CSkeinSys"]),
        .target(name: "SkeinEngine", dependencies: ["SkeinCore", "CSkeinSys", .product(name: "Collections", package: "swift-collections")]),
        .target(name: "SkeinSources", dependencies: ["SkeinCore", "SkeinDecoders", "SkeinEngine", "CSkeinSys"]),'
if [ "$mode" = collector ]; then
  # The whole collector with its real dependencies, in a package (and build folder) of its own.
  pkg=$root/.build-fuzz/pkg-collector
  mkdir -p "$pkg/Sources/Fuzz"
  for t in SkeinCore SkeinDecoders SkeinEngine CSkeinSys SkeinSources SkeinCollector CZlib; do
    ln -sfn "$root/Sources/$t" "$pkg/Sources/$t"
  done
  cp scripts/fuzz/CollectorHarness.swift "$pkg/Sources/Fuzz/Harness.swift"
  cp scripts/fuzz/Driver.swift "$pkg/Sources/Fuzz/Driver.swift"
  cat > "$pkg/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription

// Written by scripts/fuzz.sh (collector mode): the collector's targets (linked) and its harness.
let package = Package(
    name: "skein-fuzz-collector",
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.9.0" ..< "6.0.0"),
    ],
    targets: [
${pipeline_targets}
        .systemLibrary(name: "CZlib"),
        .target(name: "SkeinCollector", dependencies: [
            "SkeinCore", "SkeinDecoders", "SkeinEngine", "SkeinSources", "CZlib",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .executableTarget(name: "Fuzz", dependencies: ["SkeinCore", "SkeinDecoders", "SkeinEngine", "SkeinSources", "SkeinCollector", "CZlib"]),
    ],
    swiftLanguageModes: [.v6]
)
SWIFT
  # Release with -enable-testing: the harness reaches the collector's internal types
  # (`@testable import`), as its tests do.
  flags=(-c release --product Fuzz --package-path "$pkg" --scratch-path "$root/.build-fuzz/build-collector"
         -Xswiftc -enable-testing -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
         -Xcc -fsanitize=fuzzer-no-link,address)
  swift build "${flags[@]}" >&2
  bin=$(swift build "${flags[@]}" --show-bin-path)/Fuzz
  python3 scripts/fuzz/collector-seeds.py "$work/seeds-$mode"
  # The OTLP seeds too, their signal byte turned into the collector harness's endpoint byte.
  if python3 scripts/fuzz/otlp-seeds.py "$work/seeds-otlp-raw"; then
    python3 - "$work/seeds-otlp-raw" "$work/seeds-$mode" <<'PY'
import os, sys
src, out = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(src)):
    data = open(os.path.join(src, name), "rb").read()
    if not data:
        continue
    for enc in (0, 1):  # protobuf as sent, and gzipped by the harness
        open(os.path.join(out, f"otlp_{name}_{enc}"), "wb").write(bytes([data[0] % 3 | 0x08 | enc << 4, 0]) + data[1:])
PY
  else
    echo "no OTLP seeds (pip install opentelemetry-proto)" >&2
  fi
  export SWIFT_BACKTRACE=enable=no   # Swift's crash handler would run under ASan and report itself
  cd "$work"
  "$bin" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -timeout=10 -rss_limit_mb=4096 \
    -max_len=8192 -max_total_time="$secs" -dict="$root/scripts/fuzz/skein.dict" -artifact_prefix="$work/crashes/" \
    "corpus-$mode" "seeds-$mode" 2>&1 | tee "$work/fuzz-$mode.log" | grep -E "^#[0-9]+: |crash|Done" || true
  echo "crashes: $(ls "$work/crashes" | wc -l) in $work/crashes" >&2
  exit 0
fi
for t in SkeinCore SkeinDecoders SkeinEngine CSkeinSys SkeinSources SkeinOutputs SkeinUI; do
  ln -sfn "$root/Sources/$t" "$pkg/Sources/$t"
done
# The collector's protobuf decoder alone (the rest of SkeinCollector needs swift-nio).
mkdir -p "$pkg/Sources/SkeinOTLPWire"
for f in OTLPProtobuf.swift ProtobufReader.swift; do ln -sfn "$root/Sources/SkeinCollector/$f" "$pkg/Sources/SkeinOTLPWire/$f"; done
cp scripts/fuzz/Harness.swift "$pkg/Sources/Fuzz/Harness.swift"
cp scripts/fuzz/Driver.swift "$pkg/Sources/Fuzz/Driver.swift"
cat > "$pkg/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription

// Written by scripts/fuzz.sh: the pipeline's targets (linked) and the libFuzzer harness.
let package = Package(
    name: "skein-fuzz",
    dependencies: [.package(url: "https://github.com/apple/swift-collections", from: "1.1.0")],
    targets: [
${pipeline_targets}
        .target(name: "SkeinOutputs", dependencies: ["SkeinCore", "SkeinEngine", "CSkeinSys"]),
        .target(name: "SkeinUI", dependencies: ["SkeinCore", "SkeinEngine"]),
        .target(name: "SkeinOTLPWire", dependencies: ["SkeinCore", "SkeinDecoders"]),
        .executableTarget(name: "Fuzz", dependencies: ["SkeinCore", "SkeinDecoders", "SkeinEngine", "SkeinSources", "SkeinOutputs", "SkeinUI", "SkeinOTLPWire"]),
    ],
    swiftLanguageModes: [.v6]
)
SWIFT
flags=(-c release --product Fuzz --package-path "$pkg" --scratch-path "$root/.build-fuzz/build"
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xcc -fsanitize=fuzzer-no-link,address)
swift build "${flags[@]}" >&2
bin=$(swift build "${flags[@]}" --show-bin-path)/Fuzz
# Seeds: every decoder fixture and the first 200 lines of each bundled log; in forced mode each
# fixture once per format, with the export's and the dashboard's settings.
if [ "$mode" = otlp ]; then python3 scripts/fuzz/otlp-seeds.py "$work/seeds-$mode" || echo "no OTLP seeds (pip install opentelemetry-proto)" >&2; fi
[ "$mode" = otlp ] || python3 - "$mode" "$work/seeds-$mode" <<'PY'
import glob, os, sys
mode, out = sys.argv[1], sys.argv[2]
inputs = sorted(glob.glob("Tests/SkeinDecodersTests/Fixtures/*/*.input")) + sorted(glob.glob("sample-logs/*.ndjson"))
formats = 15  # AutoDecoder.formatNames.count; the harness takes the index modulo the real count
for path in inputs:
    data = b"".join(open(path, "rb").readlines()[:200])
    name = path.replace("/", "_")
    if mode == "auto":
        open(os.path.join(out, name), "wb").write(data)
    else:
        for i in range(formats):
            for flags, slice_ in ((0, 0), (0x80, 3)):
                open(os.path.join(out, f"{name}_{i}_{flags:x}"), "wb").write(bytes([i | flags, slice_]) + data)
PY
export SWIFT_BACKTRACE=enable=no   # Swift's crash handler would run under ASan and report itself
if [ "$mode" = forced ]; then export SKEIN_FUZZ_FORCED=1; fi
if [ "$mode" = otlp ]; then export SKEIN_FUZZ_OTLP=1; fi
cd "$work"
"$bin" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -timeout=10 -rss_limit_mb=4096 \
  -max_len=4096 -max_total_time="$secs" -dict="$root/scripts/fuzz/skein.dict" -artifact_prefix="$work/crashes/" \
  "corpus-$mode" "seeds-$mode" 2>&1 | tee "$work/fuzz-$mode.log" | grep -E "^#[0-9]+: |crash|Done" || true
echo "crashes: $(ls "$work/crashes" | wc -l) in $work/crashes" >&2
