import Foundation
import SkeinCore

/// Reads a blocking descriptor (stdin, a pipe) on a background thread into a bounded queue.
///
/// The owner drains the queue without blocking (`drain()`), so a slow or silent pipe never
/// stalls the thread that draws the screen. When the owner falls behind and the queue is full, a
/// chunk is dropped rather than blocking the reader: the lines it ended are counted as dropped and
/// the next chunk is marked `afterGap`, so the framer drops the torn line instead of gluing halves.
public final class StreamPump: @unchecked Sendable {
    /// A piece of the stream, in order.
    public struct Chunk: Sendable {
        public var bytes: [UInt8]
        /// Bytes were dropped just before this chunk.
        public var afterGap: Bool
    }

    /// What `drain()` hands over.
    public struct Batch: Sendable {
        public var chunks: [Chunk]
        /// Lines lost since the previous drain (each newline in a dropped chunk, plus each torn line).
        public var droppedLines: Int
        /// The stream ended (end of file or a read error) and everything before it is in `chunks`.
        public var ended: Bool
        public var error: String?
        /// Chunks are still queued (the byte limit was reached).
        public var more: Bool
    }

    public let capacity: Int
    public let chunkSize: Int
    private let fd: Int32
    // Guarded by `lock`: the reader thread appends, the owner drains.
    private let lock = NSLock()
    private var queue: [Chunk] = []
    private var droppedLines = 0
    private var gapPending = false
    private var ended = false
    private var error: String?
    private var started = false

    /// `capacity` chunks of up to `chunkSize` bytes are held at most (16 MiB by default).
    public init(fd: Int32 = 0, capacity: Int = 256, chunkSize: Int = 64 << 10) {
        self.fd = fd
        self.capacity = max(1, capacity)
        self.chunkSize = max(512, chunkSize)
    }

    /// Starts the reader thread once; later calls do nothing.
    public func start() {
        lock.lock()
        let first = !started
        started = true
        lock.unlock()
        guard first else { return }
        let thread = Thread { [self] in self.run() }
        thread.name = "skein.stream-pump"
        thread.start()
    }

    /// What was read since the last drain, oldest first, about `maxBytes` at most (always at least
    /// one chunk when any is queued); never blocks on input.
    public func drain(maxBytes: Int = .max) -> Batch {
        lock.lock()
        defer { lock.unlock() }
        var taken = 0
        var bytes = 0
        while taken < queue.count && (taken == 0 || bytes + queue[taken].bytes.count <= maxBytes) {
            bytes += queue[taken].bytes.count
            taken += 1
        }
        let chunks = Array(queue[0..<taken])
        queue.removeFirst(taken)
        let more = !queue.isEmpty
        let batch = Batch(chunks: chunks, droppedLines: droppedLines, ended: ended && !more, error: more ? nil : error,
                          more: more)
        droppedLines = 0
        return batch
    }

    private func run() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = POSIX.readSome(fd, into: buffer)
            if n <= 0 {
                let reason = n < 0 ? POSIX.errorText() : nil
                lock.lock()
                ended = true
                error = reason
                lock.unlock()
                return
            }
            offer(Array(UnsafeRawBufferPointer(rebasing: buffer[0..<n])))
        }
    }

    /// Queues a chunk, or drops it when the queue is full. Internal so tests can drive it.
    func offer(_ bytes: [UInt8]) {
        lock.lock()
        defer { lock.unlock() }
        if queue.count >= capacity {
            droppedLines += StreamPump.newlines(in: bytes) + (gapPending ? 0 : 1)
            gapPending = true
            return
        }
        queue.append(Chunk(bytes: bytes, afterGap: gapPending))
        gapPending = false
    }

    func markEnded() {
        lock.lock()
        ended = true
        lock.unlock()
    }

    private static func newlines(in bytes: [UInt8]) -> Int {
        var count = 0
        for b in bytes where b == 0x0A { count += 1 }
        return count
    }
}
