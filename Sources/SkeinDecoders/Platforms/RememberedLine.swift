/// One line's bytes and what was worked out from them, so that the auto-detector's several calls
/// for one line (`continueFrame`, `recognises`, `decode`) do the work once.
///
/// A class, because `recognises` cannot mutate its decoder; decoders are values and copies share
/// it, so every answer is checked byte for byte against the line it belongs to, and a copy asking
/// about another line simply misses. The bytes live in raw memory: one copy per line remembered.
final class RememberedLine<Result> {
    private var bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: 512)
    private var capacity = 512
    /// Bytes remembered; -1 when none.
    private var count = -1
    private var result: Result?

    deinit { bytes.deallocate() }

    /// What was remembered for `line`, or nil when `line` is not the remembered line.
    func result(for line: UnsafeBufferPointer<UInt8>) -> Result? {
        guard count == line.count, ByteText.same(UnsafeBufferPointer(start: bytes, count: count), line) else { return nil }
        return result
    }

    func remember(_ line: UnsafeBufferPointer<UInt8>, _ result: Result) {
        let n = line.count
        if n > capacity {
            bytes.deallocate()
            capacity = max(n, capacity * 2)
            bytes = .allocate(capacity: capacity)
        }
        if let base = line.baseAddress, n > 0 { bytes.update(from: base, count: n) }
        count = n
        self.result = result
    }

    func forget() {
        count = -1
        result = nil
    }
}
