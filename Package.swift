// swift-tools-version:6.0
import PackageDescription

// The folders follow the pipeline: sources → decoders → engine → outputs (DESIGN.md).
// Only SkeinTerminal imports ncurses; every other view is testable as text through SkeinUI.
let package = Package(
    name: "skein",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "skein", targets: ["skein"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.25.0"),
        // Already in the graph through postgres-nio (same range): the PgBouncer console's password
        // hashes and the collector's HMAC-SHA1 check of Vercel drain signatures use it.
        .package(url: "https://github.com/apple/swift-crypto", "3.9.0" ..< "6.0.0"),
    ],
    targets: [
        // The one event type and the small value types every stage shares.
        .target(name: "SkeinCore"),
        // Bytes → frames → events: line framing, the JSON byte scanner, conventions and platform formats.
        .target(name: "SkeinDecoders", dependencies: ["SkeinCore", "CSkeinSys"]),
        // The single owner of state: linker, stitcher, fleet, insights; snapshots out.
        .target(name: "SkeinEngine", dependencies: [
            "SkeinCore", "CSkeinSys",
            .product(name: "Collections", package: "swift-collections"),
        ]),
        // A few lines of C: the SIGBUS guard for reading files through a mapping (a file truncated
        // while mapped), malloc's growth step and heap population in steps, and the JSON scanner's
        // 16-byte string scan (SSE2, inlined into Swift).
        .target(name: "CSkeinSys"),
        // Where bytes come from: files (followed), stdin, directories; the ingest loop that feeds the engine.
        .target(name: "SkeinSources", dependencies: ["SkeinCore", "SkeinDecoders", "SkeinEngine", "CSkeinSys"]),
        // zlib for gzip request bodies (Content-Encoding: gzip).
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // The network collector: OTLP/HTTP (JSON and protobuf), log drains, health and metrics on swift-nio.
        .target(name: "SkeinCollector", dependencies: [
            "SkeinCore", "SkeinDecoders", "SkeinEngine", "SkeinSources", "CZlib",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Exporters (json/csv/markdown), the NDJSON recorder and the one-line-per-trace printer.
        .target(name: "SkeinOutputs", dependencies: ["SkeinCore", "SkeinEngine", "CSkeinSys"]),
        // The deterministic simulated hybrid fleet behind `skein demo` and sample-logs/.
        .target(name: "SkeinSim", dependencies: ["SkeinCore"]),
        // Screen buffer, widgets, views and key handling: no terminal here.
        .target(name: "SkeinUI", dependencies: ["SkeinCore", "SkeinEngine"]),
        // The PostgreSQL / PgBouncer sampler: server truth about connections, as events.
        .target(name: "SkeinPostgres", dependencies: [
            "SkeinCore", "SkeinEngine", "SkeinSources",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The ncurses boundary: copies a screen buffer to the terminal and reads keys.
        .systemLibrary(name: "CNCurses", providers: [.apt(["libncurses-dev"])]),
        .target(name: "SkeinTerminal", dependencies: ["SkeinUI", "CNCurses"]),
        // The user's verbs as library code (export job, live/replay/demo feeds, headless printing),
        // so tests drive exactly what the executable runs.
        .target(name: "SkeinApp", dependencies: [
            "SkeinCore", "SkeinDecoders", "SkeinEngine", "SkeinSources", "SkeinOutputs", "SkeinSim", "SkeinUI",
            "SkeinCollector",
            "SkeinPostgres",
        ]),
        .executableTarget(name: "skein", dependencies: [
            "SkeinCore", "SkeinDecoders", "SkeinEngine", "SkeinSources", "SkeinOutputs",
            "SkeinSim", "SkeinUI", "SkeinTerminal", "SkeinApp", "SkeinCollector",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: [
            // Release builds carry the Swift runtime and Foundation inside the binary (as
            // `--static-swift-stdlib` does): no symbol look-ups across twenty shared libraries at
            // start (an empty export 20 → 15 ms), and the runtime's entry points (reference counting,
            // a few calls per event) are called directly. Alternating runs of the 1M-line export:
            // CPU time 3-6 % lower. The libraries named are static Foundation's own, which modules
            // compiled against the shared SDK do not ask for; lld, because gold warns about a
            // `mktemp` inside static Foundation.
            .unsafeFlags(["-static-stdlib", "-use-ld=lld", "-lCoreFoundation", "-l_FoundationICU",
                          "-l_FoundationCShims", "-l_FoundationCollections"],
                         .when(platforms: [.linux], configuration: .release)),
        ]),
        .testTarget(name: "SkeinCoreTests", dependencies: ["SkeinCore"]),
        .testTarget(name: "SkeinDecodersTests", dependencies: ["SkeinCore", "SkeinDecoders"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "SkeinEngineTests", dependencies: ["SkeinCore", "SkeinEngine", "SkeinDecoders"]),
        .testTarget(name: "SkeinOutputsTests", dependencies: ["SkeinCore", "SkeinEngine", "SkeinOutputs", "SkeinDecoders", "SkeinSources"],
                    exclude: ["Golden"]),
        .testTarget(name: "SkeinSimTests", dependencies: ["SkeinCore", "SkeinSim", "SkeinDecoders", "SkeinEngine", "SkeinSources"]),
        .testTarget(name: "SkeinUITests", dependencies: ["SkeinCore", "SkeinEngine", "SkeinUI", "SkeinDecoders", "SkeinSources"]),
        .testTarget(name: "SkeinAppTests", dependencies: [
            "SkeinCore", "SkeinDecoders", "SkeinEngine", "SkeinSources", "SkeinOutputs", "SkeinSim", "SkeinUI", "SkeinApp",
            "SkeinCollector",
        ]),
        .testTarget(name: "SkeinEndToEndTests", dependencies: []),
        .testTarget(name: "SkeinCollectorTests", dependencies: [
            "SkeinCore", "SkeinDecoders", "SkeinEngine", "SkeinSources", "SkeinCollector", "CZlib",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .testTarget(name: "SkeinSourcesTests", dependencies: ["SkeinCore", "SkeinDecoders", "SkeinSources", "CSkeinSys"]),
        .testTarget(name: "SkeinPostgresTests", dependencies: ["SkeinCore", "SkeinEngine", "SkeinSources", "SkeinPostgres"]),
    ],
    swiftLanguageModes: [.v6]
)
