#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import SkeinCore

/// A one-line progress display on stderr for long exports: bytes done of total and throughput.
///
/// A value the CLI owns and calls as it reads; it redraws at most every `minIntervalMS` of the
/// injected clock (about ten times a second), never when stderr is not a terminal, and erases
/// itself in `finish()` so the terminal is left as it was. `frame(done:now:)` is the pure part.
public struct ProgressBar {
    /// Bytes to read in all, when known (files); nil for stdin.
    public var total: Int64?
    public var label: String
    public let isEnabled: Bool
    public let minIntervalMS: Double
    public let barWidth: Int
    private var startedAt: Timestamp?
    private var lastDrawAt: Timestamp?
    /// Whether a frame is on screen (so `finish()` must erase it).
    public private(set) var isShowing = false
    /// Where frames go: standard error, unless a caller (a test) takes them.
    public var output: (String) -> Void = ProgressBar.writeStderr

    /// True when standard error is a terminal.
    public static var stderrIsTerminal: Bool { isatty(2) != 0 }

    public init(total: Int64?, label: String = "", enabled: Bool = ProgressBar.stderrIsTerminal,
                minIntervalMS: Double = 100, barWidth: Int = 24) {
        self.total = total
        self.label = label
        isEnabled = enabled
        self.minIntervalMS = minIntervalMS
        self.barWidth = max(4, barWidth)
    }

    /// The text to draw now (a carriage return, the line, erase-to-end), or nil when disabled
    /// or when the last frame is too recent. The first call starts the throughput clock.
    public mutating func frame(done: Int64, now: Timestamp) -> String? {
        guard isEnabled else { return nil }
        guard let start = startedAt else {
            startedAt = now
            lastDrawAt = now
            isShowing = true
            return "\r" + text(done: done, elapsedMS: 0) + "\u{1B}[K"
        }
        if let last = lastDrawAt, now.ms(since: last) < minIntervalMS { return nil }
        lastDrawAt = now
        isShowing = true
        return "\r" + text(done: done, elapsedMS: now.ms(since: start)) + "\u{1B}[K"
    }

    /// The text that erases the bar, or nil when nothing is showing.
    public mutating func clearFrame() -> String? {
        guard isShowing else { return nil }
        isShowing = false
        return "\r\u{1B}[K"
    }

    /// Draws a frame on stderr if one is due.
    public mutating func update(done: Int64, now: Timestamp) {
        if let f = frame(done: done, now: now) { output(f) }
    }

    /// Erases the bar from stderr.
    public mutating func finish() {
        if let f = clearFrame() { output(f) }
    }

    /// `label [#########...........]  45%  12.3/27.0 MB  85.2 MB/s` (no bar or percentage
    /// without a total).
    func text(done: Int64, elapsedMS: Double) -> String {
        var parts: [String] = []
        if !label.isEmpty { parts.append(Sanitizer.clean(label)) }
        let mb = Double(done) / 1_000_000
        if let total, total > 0 {
            let fraction = min(1, max(0, Double(done) / Double(total)))
            let filled = Int((fraction * Double(barWidth)).rounded(.down))
            parts.append("[" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "]")
            let pct = Int((fraction * 100).rounded(.down))
            parts.append((pct < 10 ? "  " : pct < 100 ? " " : "") + "\(pct)%")
            parts.append(ProgressBar.oneDecimal(mb) + "/" + ProgressBar.oneDecimal(Double(total) / 1_000_000) + " MB")
        } else {
            parts.append(ProgressBar.oneDecimal(mb) + " MB")
        }
        if elapsedMS > 0 {
            parts.append(ProgressBar.oneDecimal(mb / (elapsedMS / 1000)) + " MB/s")
        }
        return parts.joined(separator: "  ")
    }

    static func oneDecimal(_ v: Double) -> String {
        guard v.isFinite else { return "-" }
        let tenths = Int64((v * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    public static func writeStderr(_ s: String) {
        var s = s
        s.withUTF8 { buf in
            guard let base = buf.baseAddress else { return }
            var p = UnsafeRawPointer(base)
            var left = buf.count
            while left > 0 {
                let n = write(2, p, left)
                if n < 0 { if errno == EINTR { continue }; return }
                p += n
                left -= n
            }
        }
    }
}
