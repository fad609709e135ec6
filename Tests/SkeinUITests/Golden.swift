import Foundation
import XCTest

/// Compares text with a golden file under `.snapshots/`, found beside this source file.
///
/// The folder is hidden because SwiftPM warns about every unhandled file in a target folder but
/// skips hidden ones; this keeps the build free of warnings without a Package.swift resource rule.
/// `SKEIN_RECORD_SNAPSHOTS=1` rewrites the file and fails, so a re-record never passes silently
/// (swift-argument-parser's snapshot helpers do the same).
func assertGolden(_ actual: String, named name: String, file: StaticString = #filePath, line: UInt = #line) {
    let dir = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().appendingPathComponent(".snapshots")
    let url = dir.appendingPathComponent(name + ".txt")
    let text = actual.hasSuffix("\n") ? actual : actual + "\n"
    if ProcessInfo.processInfo.environment["SKEIN_RECORD_SNAPSHOTS"] == "1" {
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        do {
            try text.write(to: url, atomically: true, encoding: .utf8)
            XCTFail("recorded \(name).txt; unset SKEIN_RECORD_SNAPSHOTS and run again", file: file, line: line)
        } catch {
            XCTFail("cannot write \(url.path): \(error)", file: file, line: line)
        }
        return
    }
    guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
        XCTFail("no golden file \(name).txt; run with SKEIN_RECORD_SNAPSHOTS=1 to record it\n\(text)", file: file, line: line)
        return
    }
    if expected != text {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = text.split(separator: "\n", omittingEmptySubsequences: false)
        var diff = ""
        for i in 0..<max(e.count, a.count) {
            let el = i < e.count ? String(e[i]) : "<none>", al = i < a.count ? String(a[i]) : "<none>"
            if el != al { diff += "line \(i + 1):\n  expected: \(el)\n  actual:   \(al)\n" }
        }
        XCTFail("\(name).txt differs (SKEIN_RECORD_SNAPSHOTS=1 re-records):\n\(diff)", file: file, line: line)
    }
}
