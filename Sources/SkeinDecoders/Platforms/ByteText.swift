import SkeinCore

/// Byte-level scanning for the text formats (Lambda, Postgres): prefixes, tokens and `key=value`
/// fields, so that a line becomes `String`s only for the values an event keeps.
extension ByteText {
    typealias Bytes = UnsafeBufferPointer<UInt8>

    @inline(__always)
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

    @inline(__always)
    static func lower(_ c: UInt8) -> UInt8 { (c >= 0x41 && c <= 0x5a) ? c | 0x20 : c }

    /// Whether `b[at...]` starts with `word`, byte for byte.
    static func hasPrefix(_ b: Bytes, _ word: StaticString, at: Int = 0) -> Bool {
        let n = word.utf8CodeUnitCount
        guard at >= 0, at + n <= b.count else { return false }
        let w = word.utf8Start
        for k in 0..<n where b[at + k] != w[k] { return false }
        return true
    }

    /// Whether `b[at...]` starts with `word`, ignoring ASCII case (`word` must be lower case).
    static func hasPrefixIgnoringCase(_ b: Bytes, _ word: StaticString, at: Int) -> Bool {
        let n = word.utf8CodeUnitCount
        guard at >= 0, at + n <= b.count else { return false }
        let w = word.utf8Start
        for k in 0..<n where lower(b[at + k]) != w[k] { return false }
        return true
    }

    /// The first index of `needle` in `b[from...]`.
    static func find(_ b: Bytes, _ needle: StaticString, from: Int) -> Int? {
        let n = needle.utf8CodeUnitCount
        guard n > 0, b.count >= n, let base = b.baseAddress else { return nil }
        let first = needle.utf8Start[0]
        var i = max(0, from)
        let last = b.count - n
        let ones: UInt64 = 0x0101_0101_0101_0101
        let pattern = ones &* UInt64(first)
        while i <= last {
            // Eight bytes at a time until one of them is the needle's first byte: a REPORT line is
            // searched for a dozen keys, so this loop sees most bytes of a Lambda stream many times.
            if i + 8 <= b.count {
                let x = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) ^ pattern
                let hits = (x &- ones) & ~x & (ones &* 0x80)
                if hits == 0 {
                    i += 8
                    continue
                }
                // The lowest flagged byte is always a real match (a borrow only flags bytes above one).
                i += hits.trailingZeroBitCount >> 3
                if i > last { return nil }
            }
            if base[i] == first && hasPrefix(b, needle, at: i) { return i }
            i += 1
        }
        return nil
    }

    static func skipSpaces(_ b: Bytes, _ p0: Int) -> Int {
        var p = p0
        while p < b.count, isSpace(b[p]) { p += 1 }
        return p
    }

    /// The end of the token starting at `p` (up to a space or tab).
    static func tokenEnd(_ b: Bytes, _ p0: Int) -> Int {
        var p = max(0, p0)
        let n = b.count
        if let base = b.baseAddress {
            // Eight bytes at a time (a Lambda log stream name is some sixty bytes).
            let ones: UInt64 = 0x0101_0101_0101_0101
            while p + 8 <= n {
                let w = UInt64(littleEndian: UnsafeRawPointer(base + p).loadUnaligned(as: UInt64.self))
                let space = w ^ (ones &* 0x20)
                let tab = w ^ (ones &* 0x09)
                let hits = ((space &- ones) & ~space | (tab &- ones) & ~tab) & (ones &* 0x80)
                // The lowest flagged byte is always a real space or tab (a borrow only flags bytes above one).
                if hits != 0 { return p + hits.trailingZeroBitCount >> 3 }
                p += 8
            }
        }
        while p < n, !isSpace(b[p]) { p += 1 }
        return max(p, p0)
    }

    /// Trailing spaces, tabs and carriage returns removed.
    static func trimmedEnd(_ b: Bytes, _ start: Int, _ end0: Int) -> Int {
        var e = end0
        while e > start, isSpace(b[e - 1]) || b[e - 1] == 0x0d { e -= 1 }
        return e
    }

    static func slice(_ b: Bytes, _ s: Int, _ e: Int) -> Bytes {
        UnsafeBufferPointer(rebasing: b[max(0, s)..<min(b.count, max(s, e))])
    }

    static func string(_ b: Bytes, _ s: Int, _ e: Int) -> String {
        String(decoding: slice(b, s, e), as: UTF8.self)
    }

    /// The value after `key` (e.g. `"Duration: "`) up to the next space, as a token range.
    static func value(after key: StaticString, in b: Bytes, from: Int = 0) -> Range<Int>? {
        guard let k = find(b, key, from: from) else { return nil }
        let s = k + key.utf8CodeUnitCount
        let e = tokenEnd(b, s)
        return e > s ? s..<e : nil
    }

    /// A decimal number following `key`, e.g. `Duration: 102.25 ms` → 102.25.
    static func number(after key: StaticString, in b: Bytes, from: Int = 0) -> Double? {
        guard let r = value(after: key, in: b, from: from) else { return nil }
        return NumberParsing.double(slice(b, r.lowerBound, r.upperBound))
    }

    /// `key=value` inside free text (Postgres' `user=app database=shop`): the value up to a space.
    /// `key` must include the `=`; it matches only at a word start.
    static func field(_ key: StaticString, in b: Bytes, from: Int = 0) -> Range<Int>? {
        var at = from
        while let k = find(b, key, from: at) {
            if k == 0 || isSpace(b[k - 1]) || b[k - 1] == UInt8(ascii: ",") || b[k - 1] == UInt8(ascii: "(") {
                let s = k + key.utf8CodeUnitCount
                var e = s
                while e < b.count, !isSpace(b[e]), b[e] != UInt8(ascii: ",") { e += 1 }
                return s..<e
            }
            at = k + 1
        }
        return nil
    }

    /// Whether two byte runs are equal, eight bytes at a time.
    static func same(_ a: Bytes, _ b: Bytes) -> Bool {
        let n = a.count
        guard n == b.count else { return false }
        guard n > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
        let p = UnsafeRawPointer(pa), q = UnsafeRawPointer(pb)
        var i = 0
        while i + 8 <= n {
            if p.loadUnaligned(fromByteOffset: i, as: UInt64.self) != q.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i += 8
        }
        while i < n {
            if pa[i] != pb[i] { return false }
            i += 1
        }
        return true
    }

    /// Whether every byte is a hex digit (either case).
    static func isHex(_ b: Bytes, _ s: Int, _ e: Int) -> Bool {
        guard e > s else { return false }
        for i in s..<e {
            let c = b[i]
            if !(isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)) { return false }
        }
        return true
    }
}
