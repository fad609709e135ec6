/// Shares one `String` per distinct value, looked up by bytes so that a repeat costs no allocation.
///
/// Decoders own one each (it is not thread-safe); the table is bounded, and past `capacity`
/// distinct values new strings are returned without being remembered.
public struct Interner {
    private struct Entry { var hash: UInt64; var value: String; var bytes: [UInt8] }
    private var slots: [Int32]
    private var entries: [Entry] = []
    private var mask: Int
    public let capacity: Int
    /// Values longer than this are never interned (ids, messages): they rarely repeat.
    public let maxLength: Int

    public init(capacity: Int = 65_536, maxLength: Int = 128) {
        self.capacity = capacity
        self.maxLength = maxLength
        slots = Array(repeating: -1, count: 1024)
        mask = 1023
    }

    public var count: Int { entries.count }

    /// The shared string for `bytes` (which must be valid UTF-8 or will be repaired).
    public mutating func intern(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        if bytes.count > maxLength { return String(decoding: bytes, as: UTF8.self) }
        let h = Interner.hash(bytes)
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = slots[i]
            if s < 0 { break }
            let e = entries[Int(s)]
            if e.hash == h && e.bytes.count == bytes.count && e.bytes.withUnsafeBufferPointer({ memeq($0, bytes) }) {
                return e.value
            }
            i = (i + 1) & mask
        }
        let value = String(decoding: bytes, as: UTF8.self)
        if entries.count >= capacity { return value }
        slots[i] = Int32(entries.count)
        entries.append(Entry(hash: h, value: value, bytes: Array(bytes)))
        if entries.count * 2 > slots.count { grow() }
        return value
    }

    public mutating func intern(_ string: String) -> String {
        var s = string
        return s.withUTF8 { intern($0) }
    }

    private mutating func grow() {
        let n = slots.count * 2
        slots = Array(repeating: -1, count: n)
        mask = n - 1
        for (idx, e) in entries.enumerated() {
            var i = Int(truncatingIfNeeded: e.hash) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(idx)
        }
    }

    @inline(__always)
    static func hash(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for x in b { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 }
        return h
    }

    @inline(__always)
    private func memeq(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        if a.count != b.count { return false }
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }
}
