import CZlib

/// Inflates `Content-Encoding: gzip` (and `deflate`) request bodies through zlib, bounded in size.
public enum Gzip {
    public enum Failure: Error, Sendable, Equatable {
        /// Not gzip or zlib data, or cut short.
        case corrupt
        /// Inflated past the limit: a body that small on the wire and that big is refused as oversize.
        case tooLarge
    }

    /// The inflated bytes, at most `limit` of them. Accepts gzip and zlib headers both (windowBits 32+15).
    public static func inflate(_ input: UnsafeRawBufferPointer, limit: Int) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 32 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .corrupt
        }
        defer { inflateEnd(&stream) }
        guard let base = input.baseAddress, input.count > 0 else { throw .corrupt }
        stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let (status, produced) = chunk.withUnsafeMutableBufferPointer { buf -> (Int32, Int) in
                stream.next_out = buf.baseAddress
                stream.avail_out = uInt(buf.count)
                let s = CZlib.inflate(&stream, Z_NO_FLUSH)
                return (s, buf.count - Int(stream.avail_out))
            }
            if out.count + produced > limit { throw .tooLarge }
            out.append(contentsOf: chunk[0..<produced])
            switch status {
            case Z_STREAM_END:
                // Concatenated gzip members (allowed by RFC 1952): start the next one.
                if stream.avail_in > 0 {
                    guard inflateReset(&stream) == Z_OK else { throw .corrupt }
                    continue
                }
                return out
            case Z_OK:
                continue
            case Z_BUF_ERROR:
                // No progress possible: the input ended before the stream did.
                if produced == 0 { throw .corrupt }
                continue
            default:
                throw .corrupt
            }
        }
    }
}
