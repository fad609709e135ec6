import SkeinCore

/// Reads the protobuf wire format: just enough for OTLP (varint, fixed64, fixed32, length-delimited).
///
/// Hand-rolled so the collector needs no code generator: OTLP's messages are few and stable, and
/// every field we don't know is skipped by its wire type, as protobuf requires.
public struct ProtobufReader {
    public enum WireType: UInt8, Sendable {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    /// Why bytes are not a protobuf message.
    public enum Failure: Error, Sendable, Equatable {
        case truncated
        case badVarint
        case badWireType(UInt8)
        case badFieldNumber
        case tooDeep
    }

    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int
    let end: Int
    /// Nesting left before a message is refused, so hostile input cannot recurse without bound.
    let depth: Int

    public init(_ bytes: UnsafeRawBufferPointer, depth: Int = 32) {
        self.bytes = bytes
        offset = 0
        end = bytes.count
        self.depth = depth
    }

    private init(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int, depth: Int) {
        self.bytes = bytes
        offset = from
        end = to
        self.depth = depth
    }

    public var isAtEnd: Bool { offset >= end }

    /// The next field's number and wire type, or nil at the end of the message.
    public mutating func nextField() throws(Failure) -> (number: Int, wire: WireType)? {
        guard offset < end else { return nil }
        let key = try varint()
        let raw = UInt8(key & 7)
        guard let wire = WireType(rawValue: raw) else { throw .badWireType(raw) }
        let number = key >> 3
        guard number > 0, number <= 536_870_911 else { throw .badFieldNumber }
        return (Int(number), wire)
    }

    public mutating func varint() throws(Failure) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end else { throw .truncated }
            let b = bytes[offset]
            offset += 1
            if shift == 63 && b > 1 { throw .badVarint }
            result |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw .badVarint }
        }
    }

    public mutating func fixed64() throws(Failure) -> UInt64 {
        guard end - offset >= 8 else { throw .truncated }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return v
    }

    public mutating func fixed32() throws(Failure) -> UInt32 {
        guard end - offset >= 4 else { throw .truncated }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        offset += 4
        return v
    }

    public mutating func double() throws(Failure) -> Double { Double(bitPattern: try fixed64()) }

    /// The bytes of a length-delimited field.
    public mutating func lengthDelimited() throws(Failure) -> UnsafeRawBufferPointer {
        let n = try varint()
        guard n <= UInt64(end - offset) else { throw .truncated }
        let start = offset
        offset += Int(n)
        return UnsafeRawBufferPointer(rebasing: bytes[start..<offset])
    }

    /// A nested message's reader (a length-delimited field read as a message).
    public mutating func message() throws(Failure) -> ProtobufReader {
        guard depth > 0 else { throw .tooDeep }
        let n = try varint()
        guard n <= UInt64(end - offset) else { throw .truncated }
        let start = offset
        offset += Int(n)
        return ProtobufReader(bytes, from: start, to: offset, depth: depth - 1)
    }

    public mutating func string() throws(Failure) -> String {
        String(decoding: try lengthDelimited(), as: UTF8.self)
    }

    /// Bytes as lower-case hex (trace and span ids).
    public mutating func hex() throws(Failure) -> String {
        let b = try lengthDelimited()
        if b.isEmpty { return "" }
        // Written straight into the string's storage: one allocation per id (none for short ones).
        return String(unsafeUninitializedCapacity: b.count * 2) { out in
            let digits: StaticString = "0123456789abcdef"
            return digits.withUTF8Buffer { d in
                var o = 0
                for x in b {
                    out[o] = d[Int(x >> 4)]
                    out[o + 1] = d[Int(x & 15)]
                    o += 2
                }
                return o
            }
        }
    }

    /// A string field through `interner`: names and keys that repeat cost no allocation.
    public mutating func string(interner: inout Interner) throws(Failure) -> String {
        interner.intern(try lengthDelimited().assumingMemoryBound(to: UInt8.self))
    }

    /// Skips a field we don't read.
    public mutating func skip(_ wire: WireType) throws(Failure) {
        switch wire {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try lengthDelimited()
        // Groups are deprecated and absent from OTLP; refusing them keeps skipping simple.
        case .startGroup, .endGroup: throw .badWireType(wire.rawValue)
        }
    }
}
