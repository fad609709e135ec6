import Crypto

/// The hashes PostgreSQL's password authentication needs: MD5 (`auth_type = md5`) and
/// SHA-256 with HMAC and PBKDF2 (SCRAM-SHA-256), on swift-crypto (already built for postgres-nio).
enum PasswordHash {
    static func sha256(_ message: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: message)) }

    static func hmacSHA256(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// PBKDF2 with HMAC-SHA-256 for one 32-byte block: all SCRAM-SHA-256 needs (RFC 8018, RFC 7677).
    static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        let key = SymmetricKey(data: password)
        var u = Array(HMAC<SHA256>.authenticationCode(for: salt + [0, 0, 0, 1], using: key))
        var out = u
        for _ in 1..<max(1, iterations) {
            u = Array(HMAC<SHA256>.authenticationCode(for: u, using: key))
            for i in 0..<out.count { out[i] ^= u[i] }
        }
        return out
    }

    /// MD5, for PostgreSQL's md5 password exchange only.
    static func md5(_ message: [UInt8]) -> [UInt8] { Array(Insecure.MD5.hash(data: message)) }

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
