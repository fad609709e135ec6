import CSkeinSys
import SkeinCore

/// A byte-level JSON scanner that records one line's structure as a flat tape of nodes.
///
/// No Foundation, no per-value allocation: `parse` reuses the tape's storage, and values stay as
/// byte ranges into the caller's buffer until a decoder asks for one as a `String` or number.
/// Objects store their members as key node, value node, key node, ...; every node knows the index
/// just past its subtree (`next`), so skipping a nested object is one step.
public struct JSONTape: @unchecked Sendable {
    // @unchecked: `storage` is shared between copies but written only by `parse`, and only after
    // `isKnownUniquelyReferenced` (a copy still held elsewhere, such as a `JSONDocument`, gets fresh
    // storage instead), so every copy sees its nodes immutable: Array's own copy-on-write discipline.
    public enum Kind: UInt8, Sendable { case object, array, string, number, bool, null }

    public struct Node: Sendable, Equatable {
        public var kind: Kind
        /// For strings: has a backslash escape. For bools: the value.
        public var flag: Bool
        /// For strings: contains bytes ≥ 0x80 (validated UTF-8).
        public var nonASCII: Bool
        /// Byte range in the input; for strings, inside the quotes.
        public var start: Int32
        public var end: Int32
        /// Index of the first node after this node's subtree.
        public var next: Int32
        /// For objects and arrays: number of direct children (members count as one each).
        public var count: Int32
    }

    /// One allocation holding the nodes; reused by every `parse` while this tape is its only owner.
    final class Storage: ManagedBuffer<Int, Node> {}

    private var storage: Storage
    /// `storage`'s elements; the parser writes through this pointer, so a node costs no append.
    private var base: UnsafeMutablePointer<Node>
    private var capacity: Int
    /// Nodes of the last parse.
    public private(set) var nodeCount = 0
    public let maxDepth: Int
    public let maxNodes: Int

    public init(maxDepth: Int = 64, maxNodes: Int = 1 << 20) {
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
        capacity = max(0, min(256, maxNodes))
        (storage, base) = JSONTape.allocate(capacity)
    }

    private static func allocate(_ capacity: Int) -> (Storage, UnsafeMutablePointer<Node>) {
        let s = Storage.create(minimumCapacity: capacity) { _ in capacity } as! Storage
        // ManagedBuffer keeps its elements at a fixed address for the object's lifetime.
        let p = s.withUnsafeMutablePointerToElements { $0 }
        return (s, p)
    }

    /// The nodes of the last parse, as an array (for tests and rare paths; decoders use `node(_:)`).
    public var nodes: [Node] { Array(UnsafeBufferPointer(start: base, count: nodeCount)) }

    /// The nodes of the last parse, unchecked: for loops that check their bounds once against
    /// `nodeCount`. Valid while this tape (or a copy) is alive and does not parse again.
    var nodeBase: UnsafePointer<Node> { UnsafePointer(base) }

    /// Node `i` of the last parse.
    @inline(__always)
    public func node(_ i: Int) -> Node {
        precondition(UInt(bitPattern: i) < UInt(bitPattern: nodeCount), "JSONTape node index out of range")
        return base[i]
    }

    public enum Failure: Error, Sendable, Equatable {
        /// The input ended inside a value.
        case truncated
        case invalid(at: Int)
        /// A complete value followed by more than whitespace (two objects on one line).
        case trailingData(at: Int)
        case invalidUTF8(at: Int)
        case tooDeep
        case tooLarge
    }

    /// Empties the tape for a new parse, taking fresh storage if a copy still shares this one.
    @inline(__always)
    private mutating func reset() {
        nodeCount = 0
        if !isKnownUniquelyReferenced(&storage) { (storage, base) = JSONTape.allocate(capacity) }
    }

    /// Parses exactly one JSON value spanning `bytes` (surrounding whitespace allowed).
    public mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) {
        reset()
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw .truncated }
        var p = 0
        let n = bytes.count
        p = JSONTape.skipWS(base, p, n)
        p = try value(base, p, n, depth: 0)
        p = JSONTape.skipWS(base, p, n)
        if p < n { throw .trailingData(at: p) }
    }

    /// Parses one JSON value starting at `offset`, returning the offset just past it; for streams
    /// of values back to back (pretty-printed objects, concatenated documents).
    public mutating func parsePrefix(_ bytes: UnsafeBufferPointer<UInt8>, from offset: Int) throws(Failure) -> Int {
        reset()
        guard let base = bytes.baseAddress else { throw .truncated }
        let p = JSONTape.skipWS(base, offset, bytes.count)
        if p >= bytes.count { throw .truncated }
        return try value(base, p, bytes.count, depth: 0)
    }

    @inline(__always)
    static func skipWS(_ b: UnsafePointer<UInt8>, _ p0: Int, _ n: Int) -> Int {
        // Compact JSON has no whitespace between tokens: one comparison settles the common case.
        if p0 < n && b[p0] > 0x20 { return p0 }
        var p = p0
        while p < n {
            let c = b[p]
            if c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 { p += 1 } else { break }
        }
        return p
    }

    /// Appends a node whose `next` is the node after it (a leaf); containers fix theirs when they close.
    @inline(__always)
    private mutating func push(_ kind: Kind, _ start: Int, _ end: Int, flag: Bool = false,
                               nonASCII: Bool = false) throws(Failure) -> Int {
        if nodeCount == capacity { try grow() }
        let i = nodeCount
        nodeCount = i + 1
        (base + i).initialize(to: Node(kind: kind, flag: flag, nonASCII: nonASCII, start: Int32(truncatingIfNeeded: start),
                                       end: Int32(truncatingIfNeeded: end), next: Int32(truncatingIfNeeded: i + 1), count: 0))
        return i
    }

    private mutating func grow() throws(Failure) {
        if nodeCount >= maxNodes { throw .tooLarge }
        let bigger = min(max(capacity * 2, 16), maxNodes)
        let (s, p) = JSONTape.allocate(bigger)
        p.initialize(from: base, count: nodeCount)
        (storage, base, capacity) = (s, p, bigger)
    }

    private mutating func value(_ b: UnsafePointer<UInt8>, _ p0: Int, _ n: Int, depth: Int) throws(Failure) -> Int {
        var p = p0
        guard p < n else { throw .truncated }
        switch b[p] {
        case UInt8(ascii: "{"):
            if depth >= maxDepth { throw .tooDeep }
            let idx = try push(.object, p, p)
            p = JSONTape.skipWS(b, p + 1, n)
            guard p < n else { throw .truncated }
            var count: Int32 = 0
            if b[p] == UInt8(ascii: "}") {
                p += 1
            } else {
                while true {
                    guard p < n else { throw .truncated }
                    guard b[p] == UInt8(ascii: "\"") else { throw .invalid(at: p) }
                    p = try string(b, p, n)
                    p = JSONTape.skipWS(b, p, n)
                    guard p < n else { throw .truncated }
                    guard b[p] == UInt8(ascii: ":") else { throw .invalid(at: p) }
                    p = JSONTape.skipWS(b, p + 1, n)
                    // Most values are strings: skip the dispatch for them.
                    if p < n && b[p] == UInt8(ascii: "\"") {
                        p = try string(b, p, n)
                    } else {
                        p = try value(b, p, n, depth: depth + 1)
                    }
                    count += 1
                    p = JSONTape.skipWS(b, p, n)
                    guard p < n else { throw .truncated }
                    if b[p] == UInt8(ascii: ",") { p = JSONTape.skipWS(b, p + 1, n); continue }
                    if b[p] == UInt8(ascii: "}") { p += 1; break }
                    throw .invalid(at: p)
                }
            }
            close(idx, p, count)
            return p
        case UInt8(ascii: "["):
            if depth >= maxDepth { throw .tooDeep }
            let idx = try push(.array, p, p)
            p = JSONTape.skipWS(b, p + 1, n)
            guard p < n else { throw .truncated }
            var count: Int32 = 0
            if b[p] == UInt8(ascii: "]") {
                p += 1
            } else {
                while true {
                    p = try value(b, p, n, depth: depth + 1)
                    count += 1
                    p = JSONTape.skipWS(b, p, n)
                    guard p < n else { throw .truncated }
                    if b[p] == UInt8(ascii: ",") { p = JSONTape.skipWS(b, p + 1, n); continue }
                    if b[p] == UInt8(ascii: "]") { p += 1; break }
                    throw .invalid(at: p)
                }
            }
            close(idx, p, count)
            return p
        case UInt8(ascii: "\""):
            return try string(b, p, n)
        case UInt8(ascii: "t"):
            try JSONTape.literal(b, p, n, "true")
            _ = try push(.bool, p, p + 4, flag: true)
            return p + 4
        case UInt8(ascii: "f"):
            try JSONTape.literal(b, p, n, "false")
            _ = try push(.bool, p, p + 5)
            return p + 5
        case UInt8(ascii: "n"):
            try JSONTape.literal(b, p, n, "null")
            _ = try push(.null, p, p + 4)
            return p + 4
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let end = try JSONTape.scanNumber(b, p, n)
            _ = try push(.number, p, end)
            return end
        default:
            throw .invalid(at: p)
        }
    }

    /// Finishes a container node once its closing bracket is read.
    @inline(__always)
    private func close(_ idx: Int, _ end: Int, _ count: Int32) {
        base[idx].end = Int32(truncatingIfNeeded: end)
        base[idx].next = Int32(truncatingIfNeeded: nodeCount)
        base[idx].count = count
    }

    @inline(__always)
    static func literal(_ b: UnsafePointer<UInt8>, _ p: Int, _ n: Int, _ word: StaticString) throws(Failure) {
        let w = word.utf8Start
        let len = word.utf8CodeUnitCount
        for k in 0..<len {
            if p + k >= n { throw .truncated }
            if b[p + k] != w[k] { throw .invalid(at: p + k) }
        }
    }

    /// Scans a string from its opening quote. Eight bytes at a time: most string bytes are plain
    /// ASCII, and a word without a quote, backslash, control byte or high byte is skipped whole.
    @inline(__always)
    private mutating func string(_ b: UnsafePointer<UInt8>, _ p0: Int, _ n: Int) throws(Failure) -> Int {
        let s = try JSONTape.scanString(b, p0, n)
        _ = try push(.string, p0 + 1, s.end, flag: s.escaped, nonASCII: s.nonASCII)
        return s.end + 1
    }

    /// A string from its opening quote at `p0`: where its closing quote is, whether it holds
    /// escapes or non-ASCII bytes (checked to be UTF-8). Shared with `FlatConvention`.
    @inline(__always)
    static func scanString(_ b: UnsafePointer<UInt8>, _ p0: Int, _ n: Int) throws(Failure)
        -> (end: Int, escaped: Bool, nonASCII: Bool) {
        var p = p0 + 1
        var escaped = false
        var high = false
        while true {
            if JSONTape.scansSixteen && p + 16 <= n {
                let stops = skein_json_string_stops16(b + p)
                if stops == 0 { p += 16; continue }
                // The lowest flagged byte is a real stop.
                p += stops.trailingZeroBitCount
            } else if p + 8 <= n {
                let stops = JSONTape.stops(UInt64(littleEndian: UnsafeRawPointer(b + p).loadUnaligned(as: UInt64.self)))
                if stops == 0 { p += 8; continue }
                // The lowest flagged byte is always a real stop (a borrow only flags bytes above one).
                p += stops.trailingZeroBitCount >> 3
            } else if p >= n {
                throw .truncated
            }
            let c = b[p]
            if c == UInt8(ascii: "\"") {
                if high { try JSONTape.validateUTF8(b, p0 + 1, p) }
                return (p, escaped, high)
            }
            if c == UInt8(ascii: "\\") {
                escaped = true
                p += 2
                continue
            }
            if c < 0x20 { throw .invalid(at: p) }
            if c >= 0x80 { high = true }
            p += 1
        }
    }

    /// Whether strings are scanned 16 bytes per step (`skein_json_string_stops16`): with SSE2,
    /// which every x86-64 has. Elsewhere its C fallback is a byte loop, and the word scan goes first.
    @inline(__always)
    static var scansSixteen: Bool {
        #if arch(x86_64)
        return true
        #else
        return false
        #endif
    }

    /// A number from its first byte at `p0`, in the tape's lax grammar (digits, `.`, `e`, `+`, `-`):
    /// where it ends.
    @inline(__always)
    static func scanNumber(_ b: UnsafePointer<UInt8>, _ p0: Int, _ n: Int) throws(Failure) -> Int {
        var p = p0 + 1
        while p < n {
            let c = b[p]
            if (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: ".") || c == UInt8(ascii: "e")
                || c == UInt8(ascii: "E") || c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
                p += 1
            } else { break }
        }
        if b[p - 1] == UInt8(ascii: "-") && p - p0 == 1 { throw p >= n ? .truncated : .invalid(at: p) }
        return p
    }

    /// The high bit of each byte of `w` (little-endian) that is `"`, `\`, below 0x20 or at/above 0x80.
    @inline(__always)
    private static func stops(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = w ^ (ones &* 0x22)
        let backslash = w ^ (ones &* 0x5c)
        let zeroQuote = (quote &- ones) & ~quote
        let zeroBackslash = (backslash &- ones) & ~backslash
        let control = w &- ones &* 0x20
        return (zeroQuote | zeroBackslash | control | w) & (ones &* 0x80)
    }

    private static func validateUTF8(_ b: UnsafePointer<UInt8>, _ s: Int, _ e: Int) throws(Failure) {
        var p = s
        while p < e {
            let c = b[p]
            if c < 0x80 { p += 1; continue }
            var need = 0
            var minScalar: UInt32 = 0
            var scalar: UInt32 = 0
            if c & 0xe0 == 0xc0 { need = 1; minScalar = 0x80; scalar = UInt32(c & 0x1f) }
            else if c & 0xf0 == 0xe0 { need = 2; minScalar = 0x800; scalar = UInt32(c & 0x0f) }
            else if c & 0xf8 == 0xf0 { need = 3; minScalar = 0x10000; scalar = UInt32(c & 0x07) }
            else { throw .invalidUTF8(at: p) }
            if p + need >= e { throw .invalidUTF8(at: p) }
            for k in 1...need {
                let cc = b[p + k]
                if cc & 0xc0 != 0x80 { throw .invalidUTF8(at: p) }
                scalar = (scalar << 6) | UInt32(cc & 0x3f)
            }
            if scalar < minScalar || scalar > 0x10ffff || (scalar >= 0xd800 && scalar <= 0xdfff) {
                throw .invalidUTF8(at: p)
            }
            p += need + 1
        }
    }
}

/// A parsed line: the tape plus the bytes it points into. Valid only while the bytes are.
public struct JSONDocument {
    public let tape: JSONTape
    public let bytes: UnsafeBufferPointer<UInt8>

    public init(tape: JSONTape, bytes: UnsafeBufferPointer<UInt8>) {
        self.tape = tape
        self.bytes = bytes
    }

    public var root: Int { 0 }
    @inline(__always) public func kind(_ i: Int) -> JSONTape.Kind { tape.node(i).kind }
    @inline(__always) public func next(_ i: Int) -> Int { Int(tape.node(i).next) }

    /// Calls `body(keyIndex, valueIndex)` for each member of the object at `object`.
    @inline(__always)
    public func forEachMember(_ object: Int, _ body: (Int, Int) throws -> Void) rethrows {
        guard tape.node(object).kind == .object else { return }
        var i = object + 1
        let end = Int(tape.node(object).next)
        while i < end {
            let v = i + 1
            try body(i, v)
            i = Int(tape.node(v).next)
        }
    }

    /// Calls `body(elementIndex)` for each element of the array at `array`.
    public func forEachElement(_ array: Int, _ body: (Int) throws -> Void) rethrows {
        guard tape.node(array).kind == .array else { return }
        var i = array + 1
        let end = Int(tape.node(array).next)
        while i < end {
            try body(i)
            i = Int(tape.node(i).next)
        }
    }

    /// The value of member `key` in the object at `object`, if present.
    public func member(_ object: Int, _ key: StaticString) -> Int? {
        var found: Int?
        forEachMember(object) { k, v in
            if found == nil && keyEquals(k, key) { found = v }
        }
        return found
    }

    /// Follows a path of keys through nested objects.
    public func member(_ object: Int, path: [StaticString]) -> Int? {
        var cur = object
        for k in path {
            guard let v = member(cur, k) else { return nil }
            cur = v
        }
        return cur
    }

    /// The raw bytes of a node (for strings: without quotes, still escaped).
    @inline(__always)
    public func raw(_ i: Int) -> UnsafeBufferPointer<UInt8> {
        raw(node: tape.node(i))
    }

    /// The raw bytes of a node already read from the tape.
    @inline(__always)
    func raw(node nd: JSONTape.Node) -> UnsafeBufferPointer<UInt8> {
        // The parser only records ranges inside the bytes it parsed; the check catches a tape paired
        // with the wrong bytes.
        precondition(UInt32(bitPattern: nd.start) <= UInt32(bitPattern: nd.end) && UInt(bitPattern: Int(nd.end)) <= UInt(bytes.count),
                     "JSONDocument node outside its bytes")
        return UnsafeBufferPointer(start: bytes.baseAddress! + Int(nd.start), count: Int(nd.end &- nd.start))
    }

    /// Whether the string node `i` (a key, usually) equals `key` byte for byte (unescaped keys only).
    @inline(__always)
    public func keyEquals(_ i: Int, _ key: StaticString) -> Bool {
        let nd = tape.node(i)
        let len = Int(nd.end - nd.start)
        guard len == key.utf8CodeUnitCount, !nd.flag else { return false }
        let k = key.utf8Start
        let b = bytes.baseAddress! + Int(nd.start)
        for j in 0..<len where b[j] != k[j] { return false }
        return true
    }

    /// Case-insensitive ASCII comparison (header names such as `X-Request-Id`).
    public func keyEqualsIgnoringCase(_ i: Int, _ key: StaticString) -> Bool {
        let nd = tape.node(i)
        let len = Int(nd.end - nd.start)
        guard len == key.utf8CodeUnitCount, !nd.flag else { return false }
        let k = key.utf8Start
        let b = bytes.baseAddress! + Int(nd.start)
        for j in 0..<len {
            var c = b[j]
            if c >= 0x41 && c <= 0x5a { c |= 0x20 }
            var d = k[j]
            if d >= 0x41 && d <= 0x5a { d |= 0x20 }
            if c != d { return false }
        }
        return true
    }

    /// The node's text: strings unescaped, numbers/bools/null as written, objects/arrays as raw JSON.
    public func string(_ i: Int) -> String {
        let nd = tape.node(i)
        if nd.kind == .string && nd.flag { return JSONDocument.unescape(raw(i)) }
        return String(decoding: raw(i), as: UTF8.self)
    }

    /// Like `string`, but through an interner (for values that repeat: services, routes, instances).
    public func string(_ i: Int, interner: inout Interner) -> String {
        let nd = tape.node(i)
        if nd.kind == .string && nd.flag { return interner.intern(JSONDocument.unescape(raw(i))) }
        return interner.intern(raw(i))
    }

    /// The string value, or nil for null/empty.
    public func nonEmptyString(_ i: Int) -> String? {
        let nd = tape.node(i)
        if nd.kind == .null || (nd.kind == .string && nd.start == nd.end) { return nil }
        if nd.kind == .object || nd.kind == .array { return nil }
        return string(i)
    }

    /// Numbers, and strings that hold numbers (`"42"`, `"12.5"`).
    public func double(_ i: Int) -> Double? {
        let nd = tape.node(i)
        guard nd.kind == .number || (nd.kind == .string && !nd.flag) else { return nil }
        return NumberParsing.double(raw(i))
    }

    public func int(_ i: Int) -> Int? {
        let nd = tape.node(i)
        guard nd.kind == .number || (nd.kind == .string && !nd.flag) else { return nil }
        if let v = NumberParsing.int(raw(i)) { return v }
        if let d = NumberParsing.double(raw(i)), d.isFinite, abs(d) < 9e15 { return Int(d) }
        return nil
    }

    public func bool(_ i: Int) -> Bool? {
        let nd = tape.node(i)
        switch nd.kind {
        case .bool: return nd.flag
        case .string:
            let r = raw(i)
            if r.count == 4 && keyEqualsIgnoringCase(i, "true") { return true }
            if r.count == 5 && keyEqualsIgnoringCase(i, "false") { return false }
            return nil
        case .number: return int(i).map { $0 != 0 }
        default: return nil
        }
    }

    /// Decodes JSON string escapes, including surrogate pairs; invalid escapes become U+FFFD.
    public static func unescape(_ r: UnsafeBufferPointer<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(r.count)
        var p = 0
        let n = r.count
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= n else { return nil }
            var v: UInt32 = 0
            for k in 0..<4 {
                let c = r[at + k]
                let d: UInt8
                switch c {
                case 0x30...0x39: d = c - 0x30
                case 0x41...0x46: d = c - 0x41 + 10
                case 0x61...0x66: d = c - 0x61 + 10
                default: return nil
                }
                v = v << 4 | UInt32(d)
            }
            return v
        }
        func appendScalar(_ s: UInt32) {
            let scalar = Unicode.Scalar(s) ?? "\u{FFFD}"
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        }
        while p < n {
            let c = r[p]
            if c != UInt8(ascii: "\\") { out.append(c); p += 1; continue }
            guard p + 1 < n else { break }
            let e = r[p + 1]
            p += 2
            switch e {
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "u"):
                guard let u = hex4(p) else { appendScalar(0xfffd); continue }
                p += 4
                if u >= 0xd800 && u < 0xdc00, p + 6 <= n, r[p] == UInt8(ascii: "\\"), r[p + 1] == UInt8(ascii: "u"),
                   let lo = hex4(p + 2), lo >= 0xdc00 && lo < 0xe000 {
                    p += 6
                    appendScalar(0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00))
                } else {
                    appendScalar(u)
                }
            default: out.append(e)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Number parsing straight from bytes.
public enum NumberParsing {
    public static func int(_ r: UnsafeBufferPointer<UInt8>) -> Int? {
        var p = 0
        let n = r.count
        guard n > 0 else { return nil }
        var neg = false
        if r[0] == UInt8(ascii: "-") { neg = true; p = 1 } else if r[0] == UInt8(ascii: "+") { p = 1 }
        guard p < n, n - p <= 18 else { return nil }
        var v = 0
        while p < n {
            let c = r[p]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + Int(c - 0x30)
            p += 1
        }
        return neg ? -v : v
    }

    /// Parses a decimal number; integers and simple fractions exactly, exponents via the standard library.
    public static func double(_ r: UnsafeBufferPointer<UInt8>) -> Double? {
        let n = r.count
        guard n > 0 else { return nil }
        var p = 0
        var neg = false
        if r[0] == UInt8(ascii: "-") { neg = true; p = 1 } else if r[0] == UInt8(ascii: "+") { p = 1 }
        var mant: UInt64 = 0
        var digits = 0
        var scale = 0
        var sawDigit = false
        while p < n, r[p] >= 0x30 && r[p] <= 0x39 {
            if digits < 18 { mant = mant * 10 + UInt64(r[p] - 0x30); digits += mant > 0 ? 1 : 0 } else { scale += 1 }
            sawDigit = true
            p += 1
        }
        if p < n, r[p] == UInt8(ascii: ".") {
            p += 1
            while p < n, r[p] >= 0x30 && r[p] <= 0x39 {
                if digits < 18 { mant = mant * 10 + UInt64(r[p] - 0x30); digits += mant > 0 ? 1 : 0; scale -= 1 }
                sawDigit = true
                p += 1
            }
        }
        guard sawDigit else { return nil }
        if p < n {
            guard r[p] == UInt8(ascii: "e") || r[p] == UInt8(ascii: "E") else { return nil }
            return Double(String(decoding: r, as: UTF8.self))
        }
        var v = Double(mant)
        if scale < 0 {
            let pow10: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
                                   1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]
            if -scale < pow10.count { v /= pow10[-scale] } else { return Double(String(decoding: r, as: UTF8.self)) }
        } else if scale > 0 {
            for _ in 0..<scale { v *= 10 }
        }
        return neg ? -v : v
    }
}
