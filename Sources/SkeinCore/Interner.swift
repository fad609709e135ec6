/// An open-addressing table keyed by byte strings: a lookup hashes the bytes and compares them in
/// place, so a repeat costs no allocation. The interner, the decoders' symbol caches and the
/// process-wide `SymbolTable` are this table with different values and limits.
struct ByteTable<Value> {
    /// Where entry `i`'s bytes sit in `bytes`, with its hash; kept apart from `values` so a probe
    /// reads plain integers and touches no reference count.
    private struct Key { var hash: UInt64; var start: Int; var count: Int32 }
    private var slots: [Int32]
    private var keys: [Key] = []
    private(set) var values: [Value] = []
    /// Every remembered key's bytes, back to back.
    private var bytes: [UInt8] = []
    private var mask: Int

    init() {
        slots = Array(repeating: -1, count: 1024)
        mask = 1023
    }

    var count: Int { values.count }

    /// The value stored for `key`, or the slot where it would go (pass it to `insert`).
    @inline(__always)
    func find(_ key: UnsafeBufferPointer<UInt8>, hash h: UInt64) -> (value: Value?, slot: Int) {
        let n = key.count
        // An empty buffer may have no address; with a count of 0 the pointer is never read.
        let b = key.baseAddress ?? UnsafePointer(bitPattern: 1)!
        var i = Int(truncatingIfNeeded: h) & mask
        let found: Int? = bytes.withUnsafeBufferPointer { stored in
            keys.withUnsafeBufferPointer { keys in
                slots.withUnsafeBufferPointer { slots in
                    while true {
                        let s = Int(slots[i])
                        if s < 0 { return nil }
                        let k = keys[s]
                        if k.hash == h && Int(k.count) == n && ByteCompare.same(stored.baseAddress! + k.start, b, n) {
                            return s
                        }
                        i = (i + 1) & mask
                    }
                }
            }
        }
        return (found.map { values[$0] }, i)
    }

    /// Stores `value` for `key` at the `slot` a `find` of the same key just returned.
    mutating func insert(_ key: UnsafeBufferPointer<UInt8>, hash h: UInt64, value: Value, slot: Int) {
        slots[slot] = Int32(values.count)
        keys.append(Key(hash: h, start: bytes.count, count: Int32(key.count)))
        bytes.append(contentsOf: key)
        values.append(value)
        if values.count * 2 > slots.count { grow() }
    }

    private mutating func grow() {
        let n = slots.count * 2
        slots = Array(repeating: -1, count: n)
        mask = n - 1
        for (idx, k) in keys.enumerated() {
            var i = Int(truncatingIfNeeded: k.hash) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(idx)
        }
    }
}

/// Shares one `String` per distinct value, looked up by bytes so that a repeat costs no allocation;
/// and, beside it, a cache of `Symbol`s so that naming a repeated value takes no lock.
///
/// Decoders own one each (it is not thread-safe); the tables are bounded, and past `capacity`
/// distinct values new strings are returned without being remembered (and new symbols are asked of
/// the shared `SymbolTable` each time: still correct, only slower).
public struct Interner {
    private var strings = ByteTable<String>()
    private var symbols = ByteTable<Symbol>()
    /// Recent symbols of at most 24 bytes, in front of `symbols` (see `RecentSymbols`).
    private var recentSymbols: RecentSymbols?
    public let capacity: Int
    /// Values longer than this are never interned (ids, messages): they rarely repeat.
    public let maxLength: Int

    public init(capacity: Int = 65_536, maxLength: Int = 128) {
        self.capacity = capacity
        self.maxLength = maxLength
    }

    /// Distinct strings remembered.
    public var count: Int { strings.count }

    /// The shared string for `bytes` (which must be valid UTF-8 or will be repaired).
    public mutating func intern(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let n = bytes.count
        if n > maxLength { return String(decoding: bytes, as: UTF8.self) }
        let h = ByteHash.hash(bytes)
        let (found, slot) = strings.find(bytes, hash: h)
        if let found { return found }
        let value = String(decoding: bytes, as: UTF8.self)
        if strings.count < capacity { strings.insert(bytes, hash: h, value: value, slot: slot) }
        return value
    }

    public mutating func intern(_ string: String) -> String {
        var s = string
        return s.withUTF8 { intern($0) }
    }

    /// The process-wide symbol for `bytes` (valid UTF-8, or repaired), remembered here so a repeat
    /// neither allocates nor locks.
    public mutating func symbol(_ bytes: UnsafeBufferPointer<UInt8>) -> Symbol {
        let key = RecentSymbols.Key(bytes)
        if let key, let r = recentSymbols, let found = r.find(key) { return found }
        let h = ByteHash.hash(bytes)
        let value: Symbol
        let (found, slot) = symbols.find(bytes, hash: h)
        if let found {
            value = found
        } else {
            value = SymbolTable.shared.symbol(bytes, hash: h)
            if symbols.count < capacity { symbols.insert(bytes, hash: h, value: value, slot: slot) }
        }
        if let key {
            // Copy-on-write: a copy of this interner (another decoder's, maybe on another thread)
            // may share the cache; shared, it is only read.
            if recentSymbols == nil || !isKnownUniquelyReferenced(&recentSymbols) {
                recentSymbols = recentSymbols?.copy() ?? RecentSymbols()
            }
            recentSymbols.unsafelyUnwrapped.store(key, value)
        }
        return value
    }

    public mutating func symbol(_ string: String) -> Symbol {
        var s = string
        return s.withUTF8 { symbol($0) }
    }
}

/// A direct-mapped cache of recent symbols for texts of at most 24 bytes, each held as its length
/// and three words that together cover every byte (the first eight, the last eight, and eight from
/// the middle): a hit costs one multiply and one cache line, where the symbol table hashes the text
/// word by word, then probes, then compares bytes kept apart (about four times the instructions).
/// Decoders name four or five symbols a line (service, instance, platform, runtime, region).
final class RecentSymbols {
    struct Key: Equatable {
        var count: UInt64
        var first: UInt64
        var middle: UInt64
        var last: UInt64

        /// Nil for texts over 24 bytes.
        @inline(__always)
        init?(_ bytes: UnsafeBufferPointer<UInt8>) {
            let n = bytes.count
            guard n <= 24 else { return nil }
            count = UInt64(n)
            guard n > 0, let b = bytes.baseAddress else { first = 0; middle = 0; last = 0; return }
            let raw = UnsafeRawPointer(b)
            if n >= 8 {
                first = raw.loadUnaligned(as: UInt64.self)
                middle = raw.loadUnaligned(fromByteOffset: min(8, n - 8), as: UInt64.self)
                last = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            } else if n >= 4 {
                first = UInt64(raw.loadUnaligned(as: UInt32.self))
                middle = 0
                last = UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
            } else {
                first = UInt64(b[0]) | UInt64(b[n >> 1]) << 8 | UInt64(b[n - 1]) << 16
                middle = 0
                last = 0
            }
        }

        @inline(__always)
        var slot: Int {
            let h = (first ^ (last &* 0x9e37_79b9_7f4a_7c15) ^ (middle << 7) ^ count) &* 0xff51_afd7_ed55_8ccd
            return Int(truncatingIfNeeded: h >> (64 - RecentSymbols.slotBits))
        }
    }

    private struct Entry {
        var key = Key.empty
        var symbol = Symbol(raw: 0)
    }

    static let slotBits = 10
    private let entries: UnsafeMutablePointer<Entry>

    init() {
        entries = .allocate(capacity: 1 << RecentSymbols.slotBits)
        entries.initialize(repeating: Entry(), count: 1 << RecentSymbols.slotBits)
    }

    deinit { entries.deallocate() }

    func copy() -> RecentSymbols {
        let c = RecentSymbols()
        c.entries.update(from: entries, count: 1 << RecentSymbols.slotBits)
        return c
    }

    @inline(__always)
    func find(_ key: Key) -> Symbol? {
        let e = entries[key.slot]
        return e.key == key ? e.symbol : nil
    }

    @inline(__always)
    func store(_ key: Key, _ symbol: Symbol) {
        entries[key.slot] = Entry(key: key, symbol: symbol)
    }
}

extension RecentSymbols.Key {
    /// Matches no text: a count no text of at most 24 bytes has.
    static let empty = RecentSymbols.Key(count: .max, first: 0, middle: 0, last: 0)

    init(count: UInt64, first: UInt64, middle: UInt64, last: UInt64) {
        self.count = count; self.first = first; self.middle = middle; self.last = last
    }
}

/// The hash the byte tables share: multiplicative, eight bytes at a time.
public enum ByteHash {
    @inline(__always)
    public static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        guard let b = bytes.baseAddress else { return 0 }
        return hash(b, bytes.count)
    }

    /// The last word overlaps the one before it rather than being read byte by byte (values are
    /// short, so this is a few multiplies).
    @inline(__always)
    public static func hash(_ b: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        let k: UInt64 = 0x9e37_79b9_7f4a_7c15
        var h: UInt64 = UInt64(n) &* k
        let raw = UnsafeRawPointer(b)
        if n >= 8 {
            var p = 0
            while p + 8 < n {
                h = (h ^ UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: p, as: UInt64.self))) &* k
                h ^= h >> 32
                p += 8
            }
            h = (h ^ UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))) &* k
        } else if n >= 4 {
            let lo = UInt64(UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)))
            let hi = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)))
            h = (h ^ (lo | hi << 32)) &* k
        } else if n > 0 {
            h = (h ^ (UInt64(b[0]) | UInt64(b[n >> 1]) << 8 | UInt64(b[n - 1]) << 16)) &* k
        }
        return h ^ (h >> 32)
    }
}

/// Byte equality for the hot paths (the interner, the decoders' key matching).
public enum ByteCompare {
    /// Byte equality of two `n`-byte runs, a word at a time (the last word overlapping the one before).
    @inlinable @inline(__always)
    public static func same(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        if n >= 8 {
            // Up to 16 bytes (most keys and names): the first word and the last, no loop.
            if n <= 16 {
                return ra.loadUnaligned(as: UInt64.self) == rb.loadUnaligned(as: UInt64.self)
                    && ra.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == rb.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            }
            var p = 0
            while p + 8 < n {
                if ra.loadUnaligned(fromByteOffset: p, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: p, as: UInt64.self) {
                    return false
                }
                p += 8
            }
            return ra.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == rb.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        }
        if n >= 4 {
            return ra.loadUnaligned(as: UInt32.self) == rb.loadUnaligned(as: UInt32.self)
                && ra.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) == rb.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
        }
        for p in 0..<n where a[p] != b[p] { return false }
        return true
    }
}

/// The strings of recently seen ids (trace, span, correlation ids), so that the later lines of a
/// request share the first line's string instead of allocating their own.
///
/// Ids do not repeat forever the way service names do, so unlike `Interner` this forgets: it is a
/// direct-mapped cache, and a new id takes its slot from whatever held it. Values of at most 15
/// bytes are never cached (Swift stores them inline, with no allocation), nor longer than `maxLength`.
/// Not thread-safe: one per decoder, like the interner. A copy shares the table until either side
/// stores into it, which then takes a fresh table (copy-on-write, as the standard collections do).
public struct RecentStrings {
    /// One allocation per column, read through pointers: a hit is a hash, a compare and a retain.
    private final class Table {
        let hashes: UnsafeMutablePointer<UInt64>
        let lengths: UnsafeMutablePointer<Int>
        /// Slot `i`'s bytes at `i * width`.
        let bytes: UnsafeMutablePointer<UInt8>
        let values: UnsafeMutablePointer<String>
        let slots: Int

        init(slots: Int, width: Int) {
            self.slots = slots
            hashes = .allocate(capacity: slots)
            hashes.initialize(repeating: 0, count: slots)
            lengths = .allocate(capacity: slots)
            lengths.initialize(repeating: -1, count: slots)
            bytes = .allocate(capacity: slots * width)
            bytes.initialize(repeating: 0, count: slots * width)
            values = .allocate(capacity: slots)
            values.initialize(repeating: "", count: slots)
        }

        deinit {
            values.deinitialize(count: slots)
            values.deallocate()
            hashes.deallocate()
            lengths.deallocate()
            bytes.deallocate()
        }
    }

    private var table: Table?
    private let mask: Int
    public let maxLength: Int

    /// `slots` is rounded up to a power of two. The table is allocated on first use: many contexts
    /// (one per collector request, say) never see an id.
    public init(slots: Int = 1024, maxLength: Int = 48) {
        var n = 16
        while n < slots { n <<= 1 }
        mask = n - 1
        self.maxLength = max(16, maxLength)
    }

    /// The string for `b` (valid UTF-8, or it is repaired as `String(decoding:)` does).
    public mutating func string(_ b: UnsafeBufferPointer<UInt8>) -> String {
        let n = b.count
        guard n > 15, n <= maxLength, let base = b.baseAddress else { return String(decoding: b, as: UTF8.self) }
        let h = ByteHash.hash(base, n)
        let slot = Int(truncatingIfNeeded: h) & mask
        let width = maxLength
        if let t = table, t.hashes[slot] == h, t.lengths[slot] == n, ByteCompare.same(t.bytes + slot * width, base, n) {
            return t.values[slot]
        }
        let value = String(decoding: b, as: UTF8.self)
        if !isKnownUniquelyReferenced(&table) { table = Table(slots: mask + 1, width: width) }
        let t = table!
        t.hashes[slot] = h
        t.lengths[slot] = n
        (t.bytes + slot * width).update(from: base, count: n)
        t.values[slot] = value
        return value
    }
}

extension ByteTable: Sendable where Value: Sendable {}
