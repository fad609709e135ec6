import Foundation

/// The hashes PostgreSQL's password authentication needs: MD5 (`auth_type = md5`) and
/// SHA-256 with HMAC and PBKDF2 (SCRAM-SHA-256).
///
/// Written out here because swift-crypto is only a transitive dependency; these run a handful of
/// times per login, so clarity beats speed. Checked against the RFC test vectors in the tests.
enum PasswordHash {
    // MARK: SHA-256 (FIPS 180-4)

    private static let k256: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    static func sha256(_ message: [UInt8]) -> [UInt8] {
        var s = SHA256()
        s.update(message)
        return s.finalize()
    }

    /// SHA-256 as a running state, so HMAC can absorb its padded key once and reuse the state
    /// (PBKDF2 then costs two compressions per iteration instead of four).
    struct SHA256 {
        private var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        private var pending: [UInt8] = []
        private var length: UInt64 = 0

        mutating func update(_ bytes: [UInt8]) {
            length &+= UInt64(bytes.count)
            pending.append(contentsOf: bytes)
            guard pending.count >= 64 else { return }
            let whole = pending.count / 64 * 64
            pending.withUnsafeBufferPointer { p in
                var w = [UInt32](repeating: 0, count: 64)
                for offset in stride(from: 0, to: whole, by: 64) { SHA256.compress(&h, p, offset, &w) }
            }
            pending.removeFirst(whole)
        }

        func finalize() -> [UInt8] {
            var s = self
            let bits = length &* 8
            var tail: [UInt8] = [0x80]
            while (pending.count + tail.count) % 64 != 56 { tail.append(0) }
            for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bits >> (UInt64(i) * 8))) }
            s.update(tail)
            var out: [UInt8] = []
            out.reserveCapacity(32)
            for v in s.h { out.append(contentsOf: [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]) }
            return out
        }

        private static func compress(_ h: inout [UInt32], _ m: UnsafeBufferPointer<UInt8>, _ at: Int, _ w: inout [UInt32]) {
            for i in 0..<16 {
                let j = at + i * 4
                w[i] = UInt32(m[j]) << 24 | UInt32(m[j + 1]) << 16 | UInt32(m[j + 2]) << 8 | UInt32(m[j + 3])
            }
            for i in 16..<64 {
                let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for i in 0..<64 {
                let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                let ch = (e & f) ^ (~e & g)
                let t1 = hh &+ s1 &+ ch &+ k256[i] &+ w[i]
                let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                let maj = (a & b) ^ (a & c) ^ (b & c)
                let t2 = s0 &+ maj
                hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
            }
            h[0] = h[0] &+ a; h[1] = h[1] &+ b; h[2] = h[2] &+ c; h[3] = h[3] &+ d
            h[4] = h[4] &+ e; h[5] = h[5] &+ f; h[6] = h[6] &+ g; h[7] = h[7] &+ hh
        }
    }

    private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }

    /// HMAC-SHA-256 (RFC 2104) with the key's padded blocks absorbed once.
    struct HMAC {
        private var inner = SHA256()
        private var outer = SHA256()

        init(key: [UInt8]) {
            var k = key.count > 64 ? PasswordHash.sha256(key) : key
            k += [UInt8](repeating: 0, count: 64 - k.count)
            inner.update(k.map { $0 ^ 0x36 })
            outer.update(k.map { $0 ^ 0x5c })
        }

        func mac(_ message: [UInt8]) -> [UInt8] {
            var i = inner
            i.update(message)
            var o = outer
            o.update(i.finalize())
            return o.finalize()
        }
    }

    static func hmacSHA256(key: [UInt8], _ message: [UInt8]) -> [UInt8] { HMAC(key: key).mac(message) }

    /// PBKDF2 with HMAC-SHA-256 for one 32-byte block: all SCRAM-SHA-256 needs (RFC 8018, RFC 7677).
    static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        let hmac = HMAC(key: password)
        var u = hmac.mac(salt + [0, 0, 0, 1])
        var out = u
        for _ in 1..<max(1, iterations) {
            u = hmac.mac(u)
            for i in 0..<out.count { out[i] ^= u[i] }
        }
        return out
    }

    // MARK: MD5 (RFC 1321), for PostgreSQL's md5 password exchange only

    private static let md5Shifts: [UInt32] = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                              5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
                                              4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                              6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21]
    // floor(abs(sin(i + 1)) * 2^32), as the RFC tabulates them.
    private static let md5K: [UInt32] = (0..<64).map { UInt32(truncatingIfNeeded: Int64((abs(sin(Double($0 + 1))) * 4_294_967_296).rounded(.down))) }

    static func md5(_ message: [UInt8]) -> [UInt8] {
        var a0: UInt32 = 0x67452301, b0: UInt32 = 0xefcdab89, c0: UInt32 = 0x98badcfe, d0: UInt32 = 0x10325476
        var m = message
        let bitLength = UInt64(message.count) * 8
        m.append(0x80)
        while m.count % 64 != 56 { m.append(0) }
        for i in 0..<8 { m.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        var w = [UInt32](repeating: 0, count: 16)
        for chunk in stride(from: 0, to: m.count, by: 64) {
            for i in 0..<16 {
                let j = chunk + i * 4
                w[i] = UInt32(m[j]) | UInt32(m[j + 1]) << 8 | UInt32(m[j + 2]) << 16 | UInt32(m[j + 3]) << 24
            }
            var a = a0, b = b0, c = c0, d = d0
            for i in 0..<64 {
                var f: UInt32
                let g: Int
                switch i {
                case 0..<16: f = (b & c) | (~b & d); g = i
                case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) % 16
                case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) % 16
                default: f = c ^ (b | ~d); g = (7 * i) % 16
                }
                f = f &+ a &+ md5K[i] &+ w[g]
                a = d; d = c; c = b
                b = b &+ (f << md5Shifts[i] | f >> (32 - md5Shifts[i]))
            }
            a0 = a0 &+ a; b0 = b0 &+ b; c0 = c0 &+ c; d0 = d0 &+ d
        }
        var out: [UInt8] = []
        for v in [a0, b0, c0, d0] { out.append(contentsOf: [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)]) }
        return out
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xf)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// PostgreSQL's md5 answer: `"md5" + md5hex(md5hex(password + user) + salt)`.
    static func postgresMD5(user: String, password: String, salt: [UInt8]) -> String {
        let inner = hex(md5(Array(password.utf8) + Array(user.utf8)))
        return "md5" + hex(md5(Array(inner.utf8) + salt))
    }
}
