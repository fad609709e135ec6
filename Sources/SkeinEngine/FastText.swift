import SkeinCore

/// Hashing and equality of ids and names straight from their UTF-8 bytes.
///
/// The engine compares and hashes the same few strings for every event (trace ids, span ids,
/// instance names). `String`'s own `==` goes through Unicode-aware comparison whenever the two
/// values are not the same object, and its `Hashable` runs SipHash over every byte; both showed
/// up as a large part of ingest in callgrind. Ids and names here are compared byte for byte,
/// which is what `String ==` means for the NFC text decoders produce.
enum FastText {
    /// A multiplicative hash over eight bytes at a time (the last word overlaps the one before).
    @inline(__always)
    static func hash(_ s: String) -> UInt64 {
        if let h = s.utf8.withContiguousStorageIfAvailable({ hash($0) }) { return h }
        var copy = s
        return copy.withUTF8 { hash($0) }
    }

    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let n = bytes.count
        let k: UInt64 = 0x9e37_79b9_7f4a_7c15
        var h: UInt64 = UInt64(truncatingIfNeeded: n) &* k
        guard n > 0, let base = bytes.baseAddress else { return h ^ (h >> 29) }
        let raw = UnsafeRawPointer(base)
        if n >= 8 {
            var p = 0
            while p + 8 < n {
                h = (h ^ raw.loadUnaligned(fromByteOffset: p, as: UInt64.self)) &* k
                h ^= h >> 32
                p += 8
            }
            h = (h ^ raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) &* k
        } else if n >= 4 {
            let lo = UInt64(raw.loadUnaligned(as: UInt32.self))
            let hi = UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
            h = (h ^ (lo | hi << 32)) &* k
        } else {
            h = (h ^ (UInt64(base[0]) | UInt64(base[n >> 1]) << 8 | UInt64(base[n - 1]) << 16)) &* k
        }
        return h ^ (h >> 29)
    }

    /// Whether a `String` is two 64-bit words here, so that `words` can read its representation.
    @inline(__always)
    static var stringsAreTwoWords: Bool { MemoryLayout<String>.size == 16 }

    /// A string's representation (for a stored string its storage and count, for a small one its
    /// bytes): two strings with the same words are the same string. Only where `stringsAreTwoWords`.
    @inline(__always)
    static func words(_ s: String) -> (UInt64, UInt64) {
        unsafeBitCast(s, to: (UInt64, UInt64).self)
    }

    /// Byte equality: the same object, or the same bytes.
    @inline(__always)
    static func same(_ a: String, _ b: String) -> Bool {
        // The same representation (one string's storage and count, or the same small string):
        // equal without reading the bytes. Ids shared from the decoder's cache of recent strings
        // (every line of a request after its first) compare this way with the id table's copy.
        if stringsAreTwoWords, words(a) == words(b) { return true }
        let r = a.utf8.withContiguousStorageIfAvailable { pa -> Bool? in
            b.utf8.withContiguousStorageIfAvailable { pb -> Bool in
                let n = pa.count
                guard n == pb.count else { return false }
                guard n > 0, let x = pa.baseAddress, let y = pb.baseAddress else { return true }
                return x == y || ByteCompare.same(x, y, n)
            }
        }
        if let r, let r { return r }
        return a == b
    }

    @inline(__always)
    static func same(_ a: String?, _ b: String?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (let x?, let y?): return same(x, y)
        default: return false
        }
    }
}

extension FastText {
    /// A precomputed fingerprint folded with a dictionary's per-table seed (for `_rawHashValue`).
    @inline(__always)
    static func mix(_ fingerprint: UInt64, seed: Int) -> Int {
        let x = (fingerprint ^ UInt64(truncatingIfNeeded: seed)) &* 0xbf58_476d_1ce4_e5b9
        return Int(truncatingIfNeeded: x ^ (x >> 31))
    }
}
