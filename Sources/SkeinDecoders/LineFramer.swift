#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a byte stream into lines: incremental, bounded, and zero-copy when a line lies inside one chunk.
///
/// Feed chunks of any size; each complete line is handed to the callback without its `\n` and
/// without a trailing `\r`. A line that lies wholly inside a chunk is a slice of that chunk; only a
/// line split across chunks is copied into the carry-over buffer. A line longer than
/// `maxLineLength` bytes (counted before the `\n`, including any `\r`) is reported once as
/// `.oversize` and skipped up to its newline without being buffered, so memory stays bounded by
/// `maxLineLength` whatever the input.
///
/// The frames a stream produces do not depend on how it was cut into chunks (proved in the tests by
/// feeding byte by byte and in random chunk sizes, as NIO's `ByteToMessageDecoderVerifier` does).
public struct LineFramer {
    /// One frame. The buffer is only valid during the callback that receives it.
    public enum Frame {
        /// A complete line without its terminator.
        case line(UnsafeBufferPointer<UInt8>)
        /// A line longer than the maximum; its bytes are skipped up to the next newline.
        case oversize
    }

    public static let defaultMaxLineLength = 1 << 20

    public let maxLineLength: Int
    /// Stream offset just past the last byte fed.
    public private(set) var bytesFed: Int64

    /// The start of a line split across chunks; never longer than `maxLineLength`.
    private var carry: [UInt8] = []
    private var carryStart: Int64 = 0
    /// Inside an oversize line already reported: drop bytes until the next newline.
    private var skipping = false

    public init(maxLineLength: Int = LineFramer.defaultMaxLineLength, startOffset: Int64 = 0) {
        self.maxLineLength = max(1, maxLineLength)
        bytesFed = startOffset
    }

    /// True when bytes of an unterminated line are pending (buffered or being skipped).
    public var hasPartialLine: Bool { !carry.isEmpty || skipping }

    /// Bytes of the unterminated line currently buffered.
    public var bufferedCount: Int { carry.count }

    /// Frames every line the chunk completes; the callback also gets the stream offset of the line's first byte.
    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, _ onFrame: (Frame, Int64) -> Void) {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        let n = chunk.count
        let chunkStart = bytesFed
        bytesFed += Int64(n)
        var i = 0

        if skipping {
            guard let nl = LineFramer.newline(in: base, count: n) else { return }
            skipping = false
            i = nl + 1
        } else if !carry.isEmpty {
            let nl = LineFramer.newline(in: base, count: n)
            let take = nl ?? n
            if carry.count + take > maxLineLength {
                carry.removeAll(keepingCapacity: true)
                onFrame(.oversize, carryStart)
                guard let nl else { skipping = true; return }
                i = nl + 1
            } else {
                carry.append(contentsOf: UnsafeBufferPointer(start: base, count: take))
                guard let nl else { return }
                emitCarry(onFrame)
                i = nl + 1
            }
        }

        // The hot loop: lines wholly inside this chunk are handed out as slices of it.
        while i < n {
            let start = base + i
            guard let len = LineFramer.newline(in: start, count: n - i) else { break }
            let offset = chunkStart + Int64(i)
            if len > maxLineLength {
                onFrame(.oversize, offset)
            } else {
                onFrame(.line(LineFramer.trimmingCR(start, len)), offset)
            }
            i += len + 1
        }

        if i < n {
            let rest = n - i
            if rest > maxLineLength {
                onFrame(.oversize, chunkStart + Int64(i))
                skipping = true
            } else {
                carryStart = chunkStart + Int64(i)
                carry.append(contentsOf: UnsafeBufferPointer(start: base + i, count: rest))
            }
        }
    }

    /// Ends the stream: yields the final unterminated line, if any, and forgets any oversize line.
    public mutating func finish(_ onFrame: (Frame, Int64) -> Void) {
        if skipping {
            skipping = false
            return
        }
        guard !carry.isEmpty else { return }
        emitCarry(onFrame)
    }

    /// Drops any partial line and continues as if a new stream began at `offset` (a seek, a truncation).
    public mutating func reset(at offset: Int64 = 0) {
        carry.removeAll(keepingCapacity: true)
        skipping = false
        bytesFed = offset
    }

    /// Drops the partial line and skips up to the next newline: used after bytes were lost (a queue
    /// drop), so a torn line is not glued onto the next one. Returns whether a partial line was dropped.
    @discardableResult
    public mutating func resynchronize() -> Bool {
        let dropped = hasPartialLine
        carry.removeAll(keepingCapacity: true)
        skipping = true
        return dropped
    }

    private mutating func emitCarry(_ onFrame: (Frame, Int64) -> Void) {
        carry.withUnsafeBufferPointer { buffer in
            onFrame(.line(LineFramer.trimmingCR(buffer.baseAddress!, buffer.count)), carryStart)
        }
        carry.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    private static func newline(in start: UnsafePointer<UInt8>, count: Int) -> Int? {
        guard let hit = memchr(start, 0x0A, count) else { return nil }
        return UnsafeRawPointer(hit) - UnsafeRawPointer(start)
    }

    @inline(__always)
    private static func trimmingCR(_ start: UnsafePointer<UInt8>, _ count: Int) -> UnsafeBufferPointer<UInt8> {
        if count > 0 && start[count - 1] == 0x0D {
            return UnsafeBufferPointer(start: start, count: count - 1)
        }
        return UnsafeBufferPointer(start: start, count: count)
    }
}
