import Synchronization

/// A string that repeats (a service, an instance, a platform, a runtime, a region, a pool), named by
/// a small number that is the same on every thread of the process.
///
/// Events cross from the decode threads to the engine by the million: as numbers these fields are
/// copied without reference counting, compared and hashed as integers, and cost 8 bytes instead of
/// 16. The text is one table read away (`string`). Numbers follow first sight, so they differ from
/// run to run when several threads decode at once: order by `string`, never by `raw`.
public struct Symbol: Hashable, Sendable, CustomStringConvertible {
    public let raw: UInt32

    init(raw: UInt32) { self.raw = raw }

    /// The symbol whose `raw` this is: for a number read back from a symbol of this process (a
    /// packed copy of a record), never one made up.
    @inlinable
    public init(unchecked raw: UInt32) { self.raw = raw }

    /// The symbol for `text`, from the process-wide table (takes its lock: hot paths ask a
    /// decoder's `Interner`, which remembers the symbols it has seen).
    public init(_ text: String) {
        var s = text
        self = s.withUTF8 { SymbolTable.shared.symbol($0, hash: ByteHash.hash($0)) }
    }

    public var string: String { SymbolTable.shared.string(self) }
    public var description: String { string }
}

/// The process-wide table behind `Symbol`: interning takes a lock, reading a symbol's text does not.
///
/// Texts live in pages that never move and are never freed, so a reader indexes them without a lock:
/// a thread can only hold a symbol that reached it through something that synchronises (the queue
/// that carried its event, or its own call to `symbol`), which orders the write of the text before
/// the read. The table only grows. What it holds is bounded by what callers name with symbols:
/// services, instances, platforms, runtimes, regions and pools, never ids or messages.
public final class SymbolTable: @unchecked Sendable {
    public static let shared = SymbolTable()

    private static let pageBits = 12
    private static let pageSize = 1 << pageBits
    /// 2^20 symbols (at most about 150 MB of names) in the shared table: past that, every new
    /// text is named `overflowText`, so a process that runs for months with churning names stays
    /// bounded.
    public static let defaultCapacity = 1 << 20
    private let maxPages: Int

    private let pages: UnsafeMutablePointer<UnsafeMutablePointer<String>?>
    private let index = Mutex(Index())

    private struct Index: ~Copyable, Sendable {
        var table = ByteTable<Symbol>()
        var count: UInt32 = 0
    }

    /// The text every new name gets once the table is full: symbol 0.
    public static let overflowText = "(too many distinct names)"

    /// A table of its own (tests); everything else shares `shared`. `capacity` is rounded up to
    /// whole pages of 4,096.
    init(capacity: Int = SymbolTable.defaultCapacity) {
        maxPages = max(1, (capacity + SymbolTable.pageSize - 1) >> SymbolTable.pageBits)
        pages = .allocate(capacity: maxPages)
        pages.initialize(repeating: nil, count: maxPages)
        var text = SymbolTable.overflowText
        _ = text.withUTF8 { symbol($0, hash: ByteHash.hash($0)) }
    }

    deinit {
        for p in 0..<maxPages {
            guard let page = pages[p] else { continue }
            page.deinitialize(count: SymbolTable.pageSize)
            page.deallocate()
        }
        pages.deallocate()
    }

    /// Distinct texts named so far.
    public var count: Int { index.withLock { Int($0.count) } }

    /// The symbol for `bytes` (valid UTF-8, or repaired as `String(decoding:)` does); `hash` is
    /// `ByteHash.hash(bytes)`, which callers have already computed for their own cache.
    public func symbol(_ bytes: UnsafeBufferPointer<UInt8>, hash h: UInt64) -> Symbol {
        index.withLock { ix in
            let (found, slot) = ix.table.find(bytes, hash: h)
            if let found { return found }
            let raw = Int(ix.count)
            let page = raw >> SymbolTable.pageBits
            if page >= maxPages { return Symbol(raw: 0) }
            if pages[page] == nil {
                let p = UnsafeMutablePointer<String>.allocate(capacity: SymbolTable.pageSize)
                p.initialize(repeating: "", count: SymbolTable.pageSize)
                pages[page] = p
            }
            pages[page]![raw & (SymbolTable.pageSize - 1)] = String(decoding: bytes, as: UTF8.self)
            let symbol = Symbol(raw: UInt32(raw))
            ix.table.insert(bytes, hash: h, value: symbol, slot: slot)
            ix.count += 1
            return symbol
        }
    }

    /// The text of `symbol`.
    @inline(__always)
    public func string(_ symbol: Symbol) -> String {
        let raw = Int(symbol.raw)
        return pages[raw >> SymbolTable.pageBits].unsafelyUnwrapped[raw & (SymbolTable.pageSize - 1)]
    }
}

/// A value that names a text: a `Symbol`, a `SpanID`.
public protocol TextName: Hashable, Sendable {
    init(_ text: String)
    var string: String { get }
}

extension Symbol: TextName {}
extension SpanID: TextName {}

/// A field stored as a `Name` (a symbol, a packed span id) and read as text: `event.service` is the
/// text, `event.$service` the stored value, which is what the hot paths use.
@propertyWrapper
public struct TextView<Name: TextName>: Hashable, Sendable {
    public var projectedValue: Name?

    // Inlinable, so that other modules use it specialized: called generically, building a hop's
    // empty fields cost more than the rest of the hop.
    @inlinable
    public init(wrappedValue: String?) { projectedValue = wrappedValue.map(Name.init) }

    @inlinable
    public var wrappedValue: String? {
        get { projectedValue?.string }
        set { projectedValue = newValue.map(Name.init) }
    }
}

/// Where-it-ran fields: symbols read as text.
public typealias SymbolText = TextView<Symbol>
/// Span id fields: packed ids read as text.
public typealias SpanIDText = TextView<SpanID>
