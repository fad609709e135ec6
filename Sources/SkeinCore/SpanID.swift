/// A span id: 16 lower-case hex digits (W3C trace context, OpenTelemetry) packed into one word,
/// else the text as logged.
///
/// Nearly every line of a traced request names a span, and nearly every span id is new: as a
/// `String` each one was 16 bytes, one byte too many for Swift's inline strings, so each cost an
/// allocation on the decode thread and reference counting on the engine's. Packed, it is copied,
/// compared and hashed as an integer. Packing is exact: `string` gives back the text it came from.
public struct SpanID: Hashable, Sendable, CustomStringConvertible {
    /// The 16 digits' value, when `text` is nil.
    public let packed: UInt64
    /// The id as logged, when it is not 16 lower-case hex digits.
    public let text: String?

    /// The id for `text`; 16 lower-case hex digits are packed, anything else kept as it is.
    public init(_ text: String) {
        var s = text
        if let p = s.withUTF8({ SpanID.pack($0, acceptUpperCase: false) }) {
            packed = p
            self.text = nil
        } else {
            packed = 0
            self.text = text
        }
    }

    /// 16 hex digits of either case, packed (upper-case digits read as lower-case: one canonical
    /// spelling for linking); nil for anything else.
    public init?(hex b: UnsafeBufferPointer<UInt8>) {
        guard let p = SpanID.pack(b, acceptUpperCase: true) else { return nil }
        packed = p
        text = nil
    }

    public var string: String {
        if let text { return text }
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 16) { out in
            let d = digits.utf8Start
            for i in 0..<16 { out[i] = d[Int((packed >> UInt64(60 - 4 * i)) & 0xf)] }
            return 16
        }
    }

    public var description: String { string }

    @inline(__always)
    static func pack(_ b: UnsafeBufferPointer<UInt8>, acceptUpperCase: Bool) -> UInt64? {
        guard b.count == 16 else { return nil }
        var v: UInt64 = 0
        for c in b {
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F") where acceptUpperCase: d = c &- UInt8(ascii: "A") &+ 10
            default: return nil
            }
            v = v << 4 | UInt64(d)
        }
        return v
    }
}
