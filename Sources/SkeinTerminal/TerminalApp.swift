import CNCurses
import SkeinUI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the dashboard ended.
public enum TerminalExit: Sendable, Equatable {
    /// The user pressed `q`.
    case quit
    /// A signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) asked us to stop; the terminal is restored.
    /// The caller should exit with status 128 + signal.
    case signal(Int32)
}

/// The interactive dashboard on a terminal: keys first, then data, frames at a capped rate.
public enum TerminalApp {
    /// Runs until `q` or a stop signal; always restores the terminal before returning.
    ///
    /// Each turn: read keys (blocking up to `idleTimeoutMS` only when there is nothing to ingest or
    /// draw), apply them, pump the feed for a short budget, and draw when something changed and the
    /// last frame is at least 1/`maxFPS` old.
    public static func run(feed: some DashboardFeed, options: TerminalOptions = TerminalOptions()) throws -> TerminalExit {
        let screen = try TerminalScreen(options: options)
        defer { screen.stop() }
        let session = DashboardSession(feed: feed, glyphs: screen.unicode ? .unicode : .ascii)
        var buffer = ScreenBuffer(width: screen.width, height: screen.height)
        let frameNanos = UInt64(1_000_000_000 / max(1, options.maxFPS))
        var lastFrame: UInt64 = 0
        var busy = true
        while true {
            if let sig = TerminalSignals.stopRequested { return .signal(sig) }
            let now = monotonicNanos()
            let sinceFrame = now &- lastFrame
            let frameDue = sinceFrame >= frameNanos
            // Block for keys only when idle; when a frame is pending, wait at most until it is due.
            var timeout: Int32
            if session.needsFrame {
                timeout = frameDue ? 0 : Int32((frameNanos - sinceFrame) / 1_000_000)
            } else {
                timeout = busy ? 0 : options.idleTimeoutMS
            }
            if feed.isFinished && !session.needsFrame { timeout = options.idleTimeoutMS }
            let keys = screen.readKeys(timeoutMS: timeout)
            if keys.contains(.resize) {
                buffer = ScreenBuffer(width: screen.width, height: screen.height)
            }
            session.handle(keys)
            if session.isQuitting { return .quit }
            if let sig = TerminalSignals.stopRequested { return .signal(sig) }
            busy = !feed.isFinished && session.pump(budget: options.pumpBudgetSeconds)
            let t = monotonicNanos()
            if session.needsFrame && t &- lastFrame >= frameNanos {
                session.frame(into: &buffer)
                screen.draw(buffer)
                lastFrame = t
            }
        }
    }

    static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
