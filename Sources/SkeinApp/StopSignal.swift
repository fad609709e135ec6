#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

private let stopRequested = Atomic<Int32>(0)

/// SIGINT/SIGTERM for headless runs: the loop sees the request, flushes and exits cleanly.
public enum StopSignal {
    public static func install() {
        signal(SIGINT) { sig in stopRequested.store(sig, ordering: .relaxed) }
        signal(SIGTERM) { sig in stopRequested.store(sig, ordering: .relaxed) }
        signal(SIGPIPE, SIG_IGN)
    }

    public static var requested: Bool { stopRequested.load(ordering: .relaxed) != 0 }
}

/// Sleeps the calling thread (headless loops only; never the model).
public func pause(milliseconds: Int) {
    var ts = timespec(tv_sec: milliseconds / 1000, tv_nsec: (milliseconds % 1000) * 1_000_000)
    nanosleep(&ts, nil)
}
