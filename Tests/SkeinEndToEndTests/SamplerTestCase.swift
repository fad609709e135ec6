import Foundation
import XCTest

/// What the database samplers' end-to-end tests share: a `skein tail` in the background, client
/// processes cleaned up after each test, polling, and reading the recording back.
class SamplerTestCase: XCTestCase {
    var clients: [Process] = []
    var skein: Process?
    /// How often `waitUntil` looks again.
    class var pollMicroseconds: UInt32 { 100_000 }

    override func tearDown() {
        skein.map { if $0.isRunning { $0.terminate(); $0.waitUntilExit() } }
        for c in clients where c.isRunning { c.terminate() }
        for c in clients { c.waitUntilExit() }
        clients = []
    }

    func waitUntil(_ what: String, timeout: Double = 15, _ condition: () throws -> Bool) throws {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if try condition() { return }
            usleep(Self.pollMicroseconds)
        }
        XCTFail("timed out waiting for \(what)")
        throw CocoaError(.userCancelled)
    }

    /// Starts `skein` in the background with stdout and stderr in `dir`.
    func startSkein(_ args: [String], in dir: URL) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Binary.path)
        p.arguments = args
        let out = dir.appendingPathComponent("stdout"), err = dir.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        skein = p
        return p
    }

    /// SIGTERM, as a user's Ctrl-C or a supervisor: skein flushes its recording and exits 0.
    func stop(_ p: Process) {
        p.terminate()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(p.terminationReason, .exit)
    }

    /// Every line of a recording, which must exist.
    func recorded(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(whereSeparator: \.isNewline).map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// The lines recorded so far: none while the file is not written yet.
    func recordedSoFar(_ path: String) throws -> [[String: Any]] {
        FileManager.default.fileExists(atPath: path) ? try recorded(path) : []
    }
}
