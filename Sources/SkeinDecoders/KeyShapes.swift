import SkeinCore

/// The keys flat lines have shown, each with the convention field it maps to, and for each key the
/// one that followed it last time.
///
/// Lines from one logger repeat their keys in the same order. When the bytes at the next member are
/// the `"name":` that followed the previous key last time, `FlatConvention` compares them with a
/// word load or two instead of scanning the key for quotes and escapes, checking it against the
/// other formats' signature keys and looking it up among the aliases: all three gave their answer
/// for the same bytes before. Any other key takes the full path and becomes the new successor.
/// Each key remembers the last two keys that followed it, so services that log different keys after
/// the same one (an edge line's `platform` after `deploy`, a function's `correlation_id`) both hit.
///
/// One per `AutoDecoder` (the answers cached are its `flat` path's). A copy shares the storage
/// until either side learns something, which then takes storage of its own.
struct KeyShapes {
    /// Distinct keys kept; later ones always take the full path.
    static let maxKeys = 64
    /// The longest `"name":` kept.
    static let width = 40
    /// `successor` index of the line's start, and of a key that is not kept.
    static let lineStart = 0
    static let unknown = maxKeys + 1
    private static let hashSlots = 256

    private final class Storage {
        let bytes: UnsafeMutablePointer<UInt8>
        let lengths: UnsafeMutablePointer<UInt8>
        /// The key's field, nil for one kept as an attribute.
        let fields: UnsafeMutablePointer<ConventionField?>
        /// By predecessor (`lineStart`, key id + 1, `unknown`): the key ids + 1 that followed it last
        /// (`successor`) and the time before (`runnerUp`), or 0.
        let successor: UnsafeMutablePointer<UInt8>
        let runnerUp: UnsafeMutablePointer<UInt8>
        /// Key id + 1 by hash of its bytes (linear probing), 0 empty.
        let index: UnsafeMutablePointer<UInt8>
        var count = 0

        init() {
            bytes = .allocate(capacity: KeyShapes.maxKeys * KeyShapes.width)
            bytes.initialize(repeating: 0, count: KeyShapes.maxKeys * KeyShapes.width)
            lengths = .allocate(capacity: KeyShapes.maxKeys)
            lengths.initialize(repeating: 0, count: KeyShapes.maxKeys)
            fields = .allocate(capacity: KeyShapes.maxKeys)
            fields.initialize(repeating: nil, count: KeyShapes.maxKeys)
            successor = .allocate(capacity: KeyShapes.maxKeys + 2)
            successor.initialize(repeating: 0, count: KeyShapes.maxKeys + 2)
            runnerUp = .allocate(capacity: KeyShapes.maxKeys + 2)
            runnerUp.initialize(repeating: 0, count: KeyShapes.maxKeys + 2)
            index = .allocate(capacity: KeyShapes.hashSlots)
            index.initialize(repeating: 0, count: KeyShapes.hashSlots)
        }

        func copy() -> Storage {
            let c = Storage()
            c.bytes.update(from: bytes, count: KeyShapes.maxKeys * KeyShapes.width)
            c.lengths.update(from: lengths, count: KeyShapes.maxKeys)
            c.fields.update(from: fields, count: KeyShapes.maxKeys)
            c.successor.update(from: successor, count: KeyShapes.maxKeys + 2)
            c.runnerUp.update(from: runnerUp, count: KeyShapes.maxKeys + 2)
            c.index.update(from: index, count: KeyShapes.hashSlots)
            c.count = count
            return c
        }

        deinit {
            bytes.deallocate()
            lengths.deallocate()
            fields.deallocate()
            successor.deallocate()
            runnerUp.deallocate()
            index.deallocate()
        }
    }

    /// Allocated at the first key learnt: many decoders (one per collector request) see one line.
    private var storage: Storage?

    /// When the `"name":` at `p` is one of the keys that followed `previous` before: its length,
    /// with its id for the next call in `previous`. Else 0, `previous` untouched. The bytes compared
    /// all lie before `n`, with at least one byte (the value's) after them.
    @inline(__always)
    func match(after previous: inout Int, _ b: UnsafePointer<UInt8>, _ p: Int, _ n: Int) -> Int {
        guard let s = storage else { return 0 }
        var next = Int(s.successor[previous])
        guard next != 0 else { return 0 }
        var len = Int(s.lengths[next - 1])
        if p + len >= n || !ByteCompare.same(s.bytes + (next - 1) * KeyShapes.width, b + p, len) {
            next = Int(s.runnerUp[previous])
            guard next != 0 else { return 0 }
            len = Int(s.lengths[next - 1])
            guard p + len < n, ByteCompare.same(s.bytes + (next - 1) * KeyShapes.width, b + p, len) else { return 0 }
        }
        previous = next
        return len
    }

    /// The field of the key `match` found (`previous` as it left it).
    @inline(__always)
    func field(_ key: Int) -> ConventionField? {
        storage.flatMap { $0.fields[key - 1] }
    }

    /// Records the `"name":` (`len` bytes at `start`) that followed `previous`, with its field; moves
    /// `previous` to it (`unknown` when it is not kept).
    mutating func learn(after previous: inout Int, _ start: UnsafePointer<UInt8>, _ len: Int, field: ConventionField?) {
        guard len <= KeyShapes.width else { previous = KeyShapes.unknown; return }
        if storage == nil {
            storage = Storage()
        } else if !isKnownUniquelyReferenced(&storage) {
            storage = storage!.copy()
        }
        let s = storage!
        let mask = KeyShapes.hashSlots - 1
        var slot = Int(truncatingIfNeeded: ByteHash.hash(start, len)) & mask
        var id = 0
        while true {
            let k = Int(s.index[slot])
            if k == 0 { break }
            if Int(s.lengths[k - 1]) == len && ByteCompare.same(s.bytes + (k - 1) * KeyShapes.width, start, len) {
                id = k
                break
            }
            slot = (slot + 1) & mask
        }
        if id == 0 {
            guard s.count < KeyShapes.maxKeys else { previous = KeyShapes.unknown; return }
            id = s.count + 1
            s.count = id
            (s.bytes + (id - 1) * KeyShapes.width).update(from: start, count: len)
            s.lengths[id - 1] = UInt8(len)
            s.fields[id - 1] = field
            s.index[slot] = UInt8(id)
        }
        if Int(s.successor[previous]) != id {
            s.runnerUp[previous] = s.successor[previous]
            s.successor[previous] = UInt8(id)
        }
        previous = id
    }
}
