import Crypto
import Foundation

/// A Vercel drain's signature: `x-vercel-signature` is the lower-case hex HMAC-SHA1 of the raw
/// request body (as sent), keyed with the drain's signature secret.
struct VercelSignature: Sendable {
    private let key: SymmetricKey

    init(secret: String) {
        key = SymmetricKey(data: Array(secret.utf8))
    }

    /// Whether `header` is the body's signature. The comparison is Crypto's constant-time check of
    /// the decoded code; a header that is not 40 hex digits never matches.
    func verifies(_ header: String, body: UnsafeRawBufferPointer) -> Bool {
        guard let code = Self.unhex(header.trimmingCharacters(in: .whitespaces)), code.count == 20 else {
            return false
        }
        return HMAC<Insecure.SHA1>.isValidAuthenticationCode(code, authenticating: body, using: key)
    }

    /// The signature of `body`, as Vercel sends it (tests, and clients that sign their own posts).
    func sign(_ body: UnsafeRawBufferPointer) -> String {
        HMAC<Insecure.SHA1>.authenticationCode(for: body, using: key).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
        }.joined()
    }

    static func unhex(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard bytes.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 2)
        var i = 0
        while i < bytes.count {
            guard let hi = nibble(bytes[i]), let lo = nibble(bytes[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
