import Foundation
import XCTest

/// Runs the built `skein` executable (README's test command builds it first: `swift build && swift test`).
enum Binary {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var path: String {
        if let p = ProcessInfo.processInfo.environment["SKEIN_BIN"] { return p }
        for dir in [".build/debug", ".build/release"] {
            let p = packageRoot.appendingPathComponent(dir).appendingPathComponent("skein").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return packageRoot.appendingPathComponent(".build/debug/skein").path
    }

    static func sample(_ name: String) -> String {
        packageRoot.appendingPathComponent("sample-logs").appendingPathComponent(name).path
    }

    struct Result {
        var status: Int32
        var stdout: Data
        var stderr: String
        var text: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs skein with `args`, feeding `stdin`; fails the test if it doesn't exit within `timeout`.
    static func run(_ args: [String], stdin: Data? = nil, timeout: TimeInterval = 120,
                    file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            XCTFail("no skein binary at \(path): run `swift build` before `swift test`", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        let dir = try tempDir()
        let outURL = dir.appendingPathComponent("stdout"), errURL = dir.appendingPathComponent("stderr")
        let inURL = dir.appendingPathComponent("stdin")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: inURL.path, contents: stdin ?? Data())
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        // Files, not pipes: nothing to drain while it runs, so a big output never blocks it.
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        p.standardInput = try FileHandle(forReadingFrom: inURL)
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning {
            p.terminate()
            XCTFail("skein \(args.joined(separator: " ")) did not finish within \(timeout) s", file: file, line: line)
        }
        p.waitUntilExit()
        let outData = try Data(contentsOf: outURL)
        let errData = try Data(contentsOf: errURL)
        try? FileManager.default.removeItem(at: dir)
        return Result(status: p.terminationStatus, stdout: outData, stderr: String(decoding: errData, as: UTF8.self))
    }

    static func json(_ r: Result) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
    }

    static func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("skein-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }
}
