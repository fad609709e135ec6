import Foundation

/// The simulator's only source of randomness: SplitMix64, seeded, never the system generator.
///
/// SplitMix64 is tiny, fast and passes BigCrush; what matters here is that the same seed gives
/// the same stream on every platform, so a demo run and a sample log are reproducible.
struct SimRandom: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed ^ 0x5EED_5EED_C0FF_EE00 }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SimRandom.mix(state)
    }

    /// The SplitMix64 finaliser: a bijection on 64 bits, so distinct inputs give distinct outputs.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }

    /// Uniform integer in lo...hi.
    mutating func int(_ lo: Int, _ hi: Int) -> Int {
        lo + Int(next() % UInt64(hi - lo + 1))
    }

    mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// Exponentially distributed with the given mean.
    mutating func exponential(mean: Double) -> Double {
        -mean * log1p(-unit())
    }

    /// An index drawn with the given weights (which need not sum to 1).
    mutating func pick(weights: [Double]) -> Int {
        var total = 0.0
        for w in weights { total += w }
        var x = unit() * total
        for (i, w) in weights.enumerated() {
            if x < w { return i }
            x -= w
        }
        return weights.count - 1
    }

    /// `count` lower-case hex digits.
    mutating func hex(_ count: Int) -> String {
        var out = [UInt8]()
        out.reserveCapacity(count)
        var bits = next()
        var left = 16
        for _ in 0..<count {
            if left == 0 { bits = next(); left = 16 }
            out.append(SimRandom.hexDigits[Int(bits & 0xf)])
            bits >>= 4
            left -= 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A W3C trace id: 32 hex digits, never all zero.
    mutating func traceID() -> String {
        var s = hex(32)
        while s.utf8.allSatisfy({ $0 == UInt8(ascii: "0") }) { s = hex(32) }
        return s
    }

    /// A W3C span id: 16 hex digits, never all zero.
    mutating func spanID() -> String {
        var s = hex(16)
        while s.utf8.allSatisfy({ $0 == UInt8(ascii: "0") }) { s = hex(16) }
        return s
    }

    /// A version-4 UUID, as Lambda request ids look.
    mutating func uuid() -> String {
        let h = Array(hex(32).utf8)
        var out = [UInt8]()
        out.reserveCapacity(36)
        for (i, c) in h.enumerated() {
            if i == 8 || i == 12 || i == 16 || i == 20 { out.append(UInt8(ascii: "-")) }
            if i == 12 { out.append(UInt8(ascii: "4")); continue }
            if i == 16 { out.append(SimRandom.hexDigits[8 + Int(c % 4)]); continue }
            out.append(c)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Characters from `alphabet`, as in pod-name suffixes and Socket.IO ids.
    mutating func word(_ count: Int, alphabet: [UInt8] = SimRandom.podAlphabet) -> String {
        var out = [UInt8]()
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(alphabet[Int(next() % UInt64(alphabet.count))]) }
        return String(decoding: out, as: UTF8.self)
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
    /// Kubernetes avoids vowels and look-alike characters in generated names.
    static let podAlphabet: [UInt8] = Array("bcdfghjklmnpqrstvwxz2456789".utf8)
    static let socketAlphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    static let lowerAlphabet: [UInt8] = Array("abcdefghijklmnopqrstuvwxyz".utf8)
}

/// A binary min-heap; the simulator's agenda and the collector's arrival queue.
struct MinHeap<Element: Comparable & Sendable>: Sendable {
    private(set) var items: [Element] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var first: Element? { items.first }

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if items[i] < items[p] { items.swapAt(i, p); i = p } else { break }
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && items[l] < items[m] { m = l }
                if r < n && items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
