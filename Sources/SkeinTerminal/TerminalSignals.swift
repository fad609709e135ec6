import CNCurses
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Signals that must leave the terminal usable: SIGINT/SIGTERM/SIGHUP/SIGQUIT set a flag the run
/// loop checks (it then calls `endwin` on its normal path); crashes restore the terminal and die.
enum TerminalSignals {
    /// Written only by handlers, read by the loop: a single word, like C's `volatile sig_atomic_t`.
    nonisolated(unsafe) static let pending: UnsafeMutablePointer<sig_atomic_t> = {
        let p = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()
    /// Whether ncurses owns the screen (so crash and exit paths know to call `endwin`).
    nonisolated(unsafe) static let active: UnsafeMutablePointer<sig_atomic_t> = {
        let p = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()
    nonisolated(unsafe) private static var installed = false

    static let stopSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
    static let crashSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP]

    /// Installs the handlers (once) before `initscr`, so ncurses leaves these signals to us.
    static func install() {
        // Touch the globals now: their lazy initialisation must never run inside a handler.
        pending.pointee = 0
        active.pointee = 0
        guard !installed else { return }
        installed = true
        for s in stopSignals {
            signal(s) { sig in TerminalSignals.pending.pointee = sig }
        }
        for s in crashSignals {
            // Best effort: endwin is not async-signal-safe, but a crash with the terminal left in
            // raw mode is worse. Then die the way the signal meant.
            signal(s) { sig in
                if TerminalSignals.active.pointee != 0 { endwin() }
                signal(sig, SIG_DFL)
                raise(sig)
            }
        }
        atexit {
            if TerminalSignals.active.pointee != 0 { endwin() }
        }
    }

    static func screenActive(_ on: Bool) { active.pointee = on ? 1 : 0 }

    /// The signal that asked us to stop, if any.
    static var stopRequested: Int32? {
        let s = pending.pointee
        return s == 0 ? nil : s
    }
}
