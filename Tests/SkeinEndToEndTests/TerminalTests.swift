import Foundation
import XCTest

/// The real dashboard in a real terminal: tmux runs `skein replay`, keys go in, the screen comes out.
final class TerminalTests: XCTestCase {
    private var socket = "skein-e2e-\(getpid())-\(UUID().uuidString.prefix(8))"

    @discardableResult
    private func tmux(_ args: [String]) throws -> String {
        // posix_spawn and waitpid, not Foundation's Process: the tmux server forks off and keeps
        // whatever descriptors it inherits, which makes Process.waitUntilExit wait forever.
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent("skein-tmux-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ["tmux", "-L", socket] + args
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for c in cargs { free(c) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, "tmux", &actions, nil, &cargs, environ)
        guard rc == 0 else { throw CocoaError(.executableLoad) }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    }

    private func screen() throws -> String { try tmux(["capture-pane", "-p"]) }

    /// Polls the screen until `predicate` holds; fails with the last screen after `timeout`.
    @discardableResult
    private func waitFor(_ what: String, timeout: TimeInterval = 20, _ predicate: (String) -> Bool,
                         file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            last = try screen()
            if predicate(last) { return last }
            usleep(100_000)
        }
        XCTFail("timed out waiting for \(what); screen was:\n\(last)", file: file, line: line)
        return last
    }

    override func tearDown() {
        _ = try? tmux(["kill-server"])
    }

    func testReplayInTmuxMovesAroundOpensATraceAndRestoresTheTerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            throw XCTSkip("tmux is not installed (apt-get install -y tmux); .ci/run installs it")
        }
        let bin = Binary.path
        guard FileManager.default.isExecutableFile(atPath: bin) else {
            XCTFail("no skein binary at \(bin): run `swift build` before `swift test`")
            return
        }
        let command = "\(bin) replay \(Binary.sample("incident.ndjson")) --speed 20; echo SKEIN-EXITED $?; sleep 60"
        try tmux(["new-session", "-d", "-x", "100", "-y", "30", command])

        let first = try waitFor("the dashboard") { $0.contains("REPLAY") && $0.contains("Traces") }
        XCTAssertTrue(first.contains("Instances"))
        XCTAssertTrue(first.contains("DB connections"))
        XCTAssertEqual(try tmux(["display-message", "-p", "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines), "1",
                       "the dashboard draws on the alternate screen")
        // Let some traces finish (a row shows a hop path), then pause so the list holds still.
        try waitFor("finished traces", timeout: 30) { $0.contains("◆ edge-api ›") }
        try tmux(["send-keys", "Space"])
        try waitFor("pause") { $0.contains("PAUSED") }

        // Help overlay in and out.
        try tmux(["send-keys", "?"])
        let help = try waitFor("help") { $0.lowercased().contains("quit") && $0.lowercased().contains("filter") }
        XCTAssertTrue(help.contains("Tab") || help.contains("tab"))
        try tmux(["send-keys", "Escape"])
        try waitFor("help closed") { $0.contains("Traces") && $0.contains("Insights") }

        // Down the traces list and into one trace: the waterfall and its lines.
        try tmux(["send-keys", "j", "j", "Enter"])
        let detail = try waitFor("trace detail") { $0.contains("critical path") && $0.contains("lines") }
        XCTAssertTrue(detail.contains("edge-api"), "the root hop is drawn")
        XCTAssertTrue(detail.contains("request.start"), "the trace's own log lines are listed")
        try tmux(["send-keys", "Escape"])
        try waitFor("back to the dashboard") { $0.contains("Traces") && !$0.contains("critical path") }

        // Focus moves, a filter applies, then quit.
        try tmux(["send-keys", "Tab"])
        try tmux(["send-keys", "/", "f", "e", "e", "d", "Enter"])
        try tmux(["send-keys", "q"])
        let after = try waitFor("exit") { $0.contains("SKEIN-EXITED") }
        XCTAssertTrue(after.contains("SKEIN-EXITED 0"), after)
        XCTAssertEqual(try tmux(["display-message", "-p", "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines), "0",
                       "quitting leaves the alternate screen")
        XCTAssertFalse(after.contains("┌"), "no dashboard left behind on the normal screen")
    }
}
