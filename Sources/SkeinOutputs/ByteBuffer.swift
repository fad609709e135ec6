/// A growable byte buffer written through a raw pointer: the one place output bytes accumulate.
///
/// `[UInt8].append` checks uniqueness and capacity on every call; exports make tens of millions
/// of small appends, so the writers share this instead. It is non-copyable: one owner, no
/// accidental copies of a multi-megabyte chunk.
public struct ByteBuffer: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    public private(set) var count: Int
    private var capacity: Int

    public init(capacity: Int = 4096) {
        self.capacity = max(16, capacity)
        base = .allocate(capacity: self.capacity)
        count = 0
    }

    deinit { base.deallocate() }

    public var isEmpty: Bool { count == 0 }

    /// A copy of the bytes.
    public var array: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    public var text: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    public mutating func removeAll() { count = 0 }

    /// Room for at least `n` bytes in all, without growing on the way there.
    public mutating func reserve(_ n: Int) {
        if n > capacity { grow(n - count) }
    }

    public func last() -> UInt8? { count > 0 ? base[count - 1] : nil }

    @inline(__always)
    public mutating func append(_ b: UInt8) {
        if count == capacity { grow(1) }
        base[count] = b
        count += 1
    }

    @inline(__always)
    public mutating func append(_ a: UInt8, _ b: UInt8) {
        if count + 2 > capacity { grow(2) }
        base[count] = a
        base[count + 1] = b
        count += 2
    }

    @inline(__always)
    public mutating func append(_ buf: UnsafeBufferPointer<UInt8>) {
        let n = buf.count
        guard n > 0, let src = buf.baseAddress else { return }
        if count + n > capacity { grow(n) }
        ByteBuffer.copySmall(from: src, to: base + count, count: n)
        count += n
    }

    /// Copies `n` bytes. Keys and names are short: two overlapping words (half-words, or 16-byte
    /// vectors up to 32 bytes) beat a byte loop or a call to memmove, which longer runs still take.
    @inline(__always)
    static func copySmall(from src: UnsafePointer<UInt8>, to dst: UnsafeMutablePointer<UInt8>, count n: Int) {
        let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
        if n >= 8 && n <= 16 {
            let head = s.loadUnaligned(as: UInt64.self)
            let tail = s.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            d.storeBytes(of: head, as: UInt64.self)
            d.storeBytes(of: tail, toByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 && n < 8 {
            let head = s.loadUnaligned(as: UInt32.self)
            let tail = s.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
            d.storeBytes(of: head, as: UInt32.self)
            d.storeBytes(of: tail, toByteOffset: n - 4, as: UInt32.self)
        } else if n < 4 {
            for i in 0..<n { dst[i] = src[i] }
        } else if n <= 32 {
            let head = s.loadUnaligned(as: SIMD16<UInt8>.self)
            let tail = s.loadUnaligned(fromByteOffset: n - 16, as: SIMD16<UInt8>.self)
            d.storeBytes(of: head, as: SIMD16<UInt8>.self)
            d.storeBytes(of: tail, toByteOffset: n - 16, as: SIMD16<UInt8>.self)
        } else {
            dst.update(from: src, count: n)
        }
    }

    public mutating func append(_ buf: UnsafeRawBufferPointer) {
        let n = buf.count
        guard n > 0, let src = buf.baseAddress else { return }
        if count + n > capacity { grow(n) }
        UnsafeMutableRawPointer(base + count).copyMemory(from: src, byteCount: n)
        count += n
    }

    /// `"name":` (with a space after the colon when `spaced`, `,"name":` when `comma`), under one
    /// capacity check: member names are the most frequent thing an export writes.
    @inline(__always)
    public mutating func appendKey(_ name: StaticString, spaced: Bool, comma: Bool = false) {
        let n = name.utf8CodeUnitCount
        if count + n + 5 > capacity { grow(n + 5) }
        var dst = base + count
        if comma { dst[0] = UInt8(ascii: ","); dst += 1 }
        dst[0] = UInt8(ascii: "\"")
        ByteBuffer.copySmall(from: name.utf8Start, to: dst + 1, count: n)
        dst[n + 1] = UInt8(ascii: "\"")
        dst[n + 2] = UInt8(ascii: ":")
        if spaced { dst[n + 3] = UInt8(ascii: " ") }
        count += n + (spaced ? 4 : 3) + (comma ? 1 : 0)
    }

    /// Appends `n` bytes that `fill` writes in place (a fixed-width field, under one capacity check).
    @inline(__always)
    public mutating func append(count n: Int, _ fill: (UnsafeMutablePointer<UInt8>) -> Void) {
        if count + n > capacity { grow(n) }
        fill(base + count)
        count += n
    }

    /// Appends what `fill` writes in place, at most `n` bytes (it returns how many it wrote), under
    /// one capacity check: a writer that knows its worst case writes a whole record this way.
    @inline(__always)
    public mutating func append(atMost n: Int, _ fill: (UnsafeMutablePointer<UInt8>) -> Int) {
        if count + n > capacity { grow(n) }
        let written = fill(base + count)
        // Past `n`, memory after the buffer's end was overwritten.
        precondition(written >= 0 && written <= n, "wrote \(written) bytes into \(n) reserved")
        count += written
    }

    @inline(__always)
    public mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { append($0) }
    }

    /// Disfavoured, so a literal takes the `StaticString` path above (inlined, no reference count):
    /// otherwise Swift picks `String` for a literal, and an export's member names each paid a call,
    /// a retain and a release.
    @_disfavoredOverload
    public mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { append($0) }
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    /// `n` copies of `b` (indentation).
    public mutating func append(repeating b: UInt8, count n: Int) {
        guard n > 0 else { return }
        if count + n > capacity { grow(n) }
        (base + count).update(repeating: b, count: n)
        count += n
    }

    public mutating func write(to sink: ByteSink) throws {
        guard count > 0 else { return }
        try sink.write(UnsafeRawBufferPointer(start: base, count: count))
    }

    private mutating func grow(_ extra: Int) {
        var newCapacity = capacity * 2
        while newCapacity < count + extra { newCapacity *= 2 }
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        p.update(from: base, count: count)
        base.deallocate()
        base = p
        capacity = newCapacity
    }
}
