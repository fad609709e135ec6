/// Which of a struct's optional fields are set, a bit each, for fields stored bare.
///
/// `Int?`, `Double?` and `Timestamp?` take 16 bytes apiece; the values the engine copies by the
/// million (`Event`, a trace's hop state) keep such fields bare, with one of these beside them. An
/// absent field's bare value is always `absent`, so synthesized `==` still compares what the
/// fields say.
public struct SetBits: Hashable, Sendable {
    @usableFromInline var raw: UInt8 = 0

    public init() {}

    /// `stored` when `bit` is set, else nil.
    @inlinable @inline(__always)
    public func value<T>(_ stored: T, bit: UInt8) -> T? {
        raw & bit != 0 ? stored : nil
    }

    /// Stores `new` bare in `stored` (`absent` for nil) and sets or clears `bit` to match.
    @inlinable @inline(__always)
    public mutating func store<T>(_ new: T?, in stored: inout T, bit: UInt8, absent: T) {
        stored = new ?? absent
        raw = new != nil ? raw | bit : raw & ~bit
    }
}
