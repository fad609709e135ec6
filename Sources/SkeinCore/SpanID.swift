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

    /// The id whose 16 lower-case hex digits `packed` holds (a packed id's `packed`).
    @inlinable
    public init(packed: UInt64) {
        self.packed = packed
        text = nil
    }

    /// 16 hex digits of either case, packed (upper-case digits read as lower-case: one canonical
    /// spelling for linking); nil for anything else.
    public init?(hex b: UnsafeBufferPointer<UInt8>) {
        guard let p = SpanID.pack(b, acceptUpperCase: true) else { return nil }
        packed = p
        text = nil
    }

    /// Whether two optional ids are both there and equal. The generic `==` on optionals copies
    /// both operands (retaining `text`, nearly always nil); this compares them where they lie.
    /// The engine compares a hop's span id with its neighbours' a few times per line.
    @inlinable @inline(__always)
    public static func bothEqual(_ a: SpanID?, _ b: SpanID?) -> Bool {
        switch (a, b) {
        case (.some(let x), .some(let y)): return x.packed == y.packed && x.text == y.text
        default: return false
        }
    }

    public var string: String {
        if let text { return text }
        return String(unsafeUninitializedCapacity: 16) { out in
            writeHex(to: out.baseAddress!)
            return 16
        }
    }

    /// The packed id's 16 lower-case hex digits at `p` (for a packed id: `text` is nil). Writers
    /// put them straight into their output, without a `String` in between. Inlinable: a report
    /// writes one per hop.
    @inlinable
    public func writeHex(to p: UnsafeMutablePointer<UInt8>) {
        let raw = UnsafeMutableRawPointer(p)
        raw.storeBytes(of: SpanID.hexDigits(UInt32(truncatingIfNeeded: packed >> 32)).bigEndian, as: UInt64.self)
        raw.storeBytes(of: SpanID.hexDigits(UInt32(truncatingIfNeeded: packed)).bigEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// The eight lower-case hex digits of `v`, the least significant digit in the lowest byte (so
    /// stored big-endian, they read in order): each nibble spread into a byte of its own, then all
    /// eight turned into ASCII at once (`0`–`9` add 0x30; `a`–`f` add 0x27 more).
    @inlinable @inline(__always)
    static func hexDigits(_ v: UInt32) -> UInt64 {
        var w = UInt64(v)
        w = ((w & 0xffff_0000) << 16) | (w & 0x0000_ffff)
        w = ((w & 0x0000_ff00_0000_ff00) << 8) | (w & 0x0000_00ff_0000_00ff)
        w = ((w & 0x00f0_00f0_00f0_00f0) << 4) | (w & 0x000f_000f_000f_000f)
        let letters = ((w &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        return w &+ 0x3030_3030_3030_3030 &+ letters &* 0x27
    }

    public var description: String { string }

    @inline(__always)
    static func pack(_ b: UnsafeBufferPointer<UInt8>, acceptUpperCase: Bool) -> UInt64? {
        guard b.count == 16, let p = b.baseAddress else { return nil }
        let raw = UnsafeRawPointer(p)
        guard let hi = hexWord(UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)), acceptUpperCase),
              let lo = hexWord(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)), acceptUpperCase)
        else { return nil }
        return UInt64(hi) << 32 | UInt64(lo)
    }

    /// Eight hex digits (the first in the lowest byte of `w`) as their value, or nil when any byte
    /// is not a digit; all eight bytes are checked and converted at once.
    @inline(__always)
    static func hexWord(_ w: UInt64, _ acceptUpperCase: Bool) -> UInt32? {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high = ones &* 0x80
        // Below 0x80, adding (0x80 - lo) sets a byte's high bit iff it is at least `lo`, and no
        // byte carries into the next.
        guard w & high == 0 else { return nil }
        let digit = (w &+ ones &* (0x80 - 0x30)) & ~(w &+ ones &* (0x80 - 0x3a))
        let l = acceptUpperCase ? w | ones &* 0x20 : w
        let letter = (l &+ ones &* (0x80 - 0x61)) & ~(l &+ ones &* (0x80 - 0x67))
        guard (digit | letter) & high == high else { return nil }
        // A digit's value is its low nibble; a letter's, its low nibble plus 9 (bit 6 marks letters).
        let n = (w & (ones &* 0x0f)) &+ ((w >> 6) & ones) &* 9
        // Pairs of nibbles into bytes, bytes into one word: the first digit ends up lowest, so the
        // result is byte-swapped to put it first.
        let pairs = ((n & 0x000f_000f_000f_000f) << 4) | ((n >> 8) & 0x000f_000f_000f_000f)
        let quads = (pairs | pairs >> 8) & 0x0000_ffff_0000_ffff
        let packed = UInt32(truncatingIfNeeded: quads | quads >> 16)
        return packed.byteSwapped
    }
}
