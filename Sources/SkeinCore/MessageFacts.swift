/// What the engine reads from a message, in one pass over its bytes instead of one per question.
public struct MessageFacts: Sendable, Equatable {
    /// "timed out" or "status: timeout" (any case).
    public var timedOut = false
    /// "timeout" anywhere (counts only at warn level and above).
    public var timeout = false
    /// "exceededcpu" or "exceeded cpu".
    public var exceededCPU = false
    /// One of Lambda's own lines (START/END/REPORT/INIT_/XRAY/PLATFORM prefixes).
    public var platformLine = false

    public init() {}

    public init(_ m: String) {
        if let f = m.utf8.withContiguousStorageIfAvailable({ MessageFacts(bytes: $0) }) {
            self = f
        } else {
            var copy = m
            self = copy.withUTF8 { MessageFacts(bytes: $0) }
        }
    }

    public init(bytes b: UnsafeBufferPointer<UInt8>) {
        let n = b.count
        guard n > 0, let base = b.baseAddress else { return }
        platformLine = MessageFacts.platformPrefix(b)
        // Every needle has an `m` ("timeout", "timed out", "status: timeout") or an `x` ("exceeded
        // cpu") at a fixed place, and most words have neither: eight bytes are skipped at a time
        // unless one of them is an `m` or an `x` (either case), and only there are needles compared.
        let ones: UInt64 = 0x0101_0101_0101_0101
        var i = 0
        while i + 8 <= n {
            let w = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) | ones &* 0x20
            let m = w ^ (ones &* 0x6d), x = w ^ (ones &* 0x78)
            // High bit set in each byte that is zero in `m` or `x` (and perhaps above one: checked below).
            var hits = (((m &- ones) & ~m) | ((x &- ones) & ~x)) & (ones &* 0x80)
            while hits != 0 {
                check(b, at: i + hits.trailingZeroBitCount >> 3)
                hits &= hits &- 1
            }
            i += 8
        }
        while i < n {
            check(b, at: i)
            i += 1
        }
    }

    /// Compares the needles whose `m` or `x` would be the byte at `j`.
    @inline(__always)
    private mutating func check(_ b: UnsafeBufferPointer<UInt8>, at j: Int) {
        let c = b[j] | 0x20
        if c == 0x6d {          // m: "ti[m]eout", "ti[m]ed out"
            let i = j - 2
            guard i >= 0 else { return }
            if MessageFacts.at(b, i, "timeout") {
                timeout = true
                if i >= 8 && MessageFacts.at(b, i - 8, "status: ") { timedOut = true }
            } else if MessageFacts.at(b, i, "timed out") {
                timedOut = true
            }
        } else if c == 0x78 {   // x: "e[x]ceeded cpu"
            let i = j - 1
            guard i >= 0 else { return }
            if MessageFacts.at(b, i, "exceededcpu") || MessageFacts.at(b, i, "exceeded cpu") { exceededCPU = true }
        }
    }

    /// Case-insensitive match of the lower-case ASCII `needle` at `i`.
    @inline(__always)
    private static func at(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, _ needle: StaticString) -> Bool {
        let nc = needle.utf8CodeUnitCount
        guard i + nc <= b.count else { return false }
        let p = needle.utf8Start
        var j = 0
        while j < nc {
            var c = b[i + j]
            if c >= 65 && c <= 90 { c |= 0x20 }
            if c != p[j] { return false }
            j += 1
        }
        return true
    }

    private static func platformPrefix(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        func starts(_ s: StaticString) -> Bool {
            let nc = s.utf8CodeUnitCount
            guard b.count >= nc else { return false }
            let p = s.utf8Start
            for j in 0..<nc where b[j] != p[j] { return false }
            return true
        }
        switch b[0] {
        case 0x52: return starts("REPORT ")
        case 0x45: return starts("END ")
        case 0x53: return starts("START ")
        case 0x49: return starts("INIT_")
        case 0x58: return starts("XRAY ")
        case 0x50: return starts("PLATFORM")
        default: return false
        }
    }
}
