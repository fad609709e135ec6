/// PostgreSQL's frontend/backend protocol 3.0, the part a simple-query client needs.
///
/// PgBouncer's admin console answers only the simple query protocol ('Q'), which postgres-nio
/// does not speak, so the PgBouncer sampler frames messages itself. Everything here is bytes in,
/// bytes out (no I/O), so canned server streams test it.

/// What the server sends, decoded.
public enum BackendMessage: Sendable, Equatable {
    /// 'R': the authentication request or outcome.
    case authentication(AuthenticationRequest)
    /// 'S': a run-time parameter (`server_version`, `client_encoding`, ...).
    case parameterStatus(name: String, value: String)
    /// 'K': cancellation key (PgBouncer's console sends none; PostgreSQL 18 may send a longer key).
    case backendKeyData(processID: Int32, secret: [UInt8])
    /// 'Z': ready for the next query; the byte is the transaction status (`I`, `T`, `E`).
    case readyForQuery(status: UInt8)
    /// 'T': the columns of the rows that follow.
    case rowDescription([String])
    /// 'D': one row; nil is SQL NULL. Values are text (the simple protocol's format).
    case dataRow([String?])
    /// 'C': a statement finished; the tag is `SHOW`, `SELECT 3`, ...
    case commandComplete(tag: String)
    /// 'I': the query string was empty.
    case emptyQueryResponse
    /// 'E': the statement (or the login) failed.
    case error(ServerNotice)
    /// 'N': a warning or notice; the conversation goes on.
    case notice(ServerNotice)
    /// 'v': the server speaks an older minor version or ignored some startup options.
    case negotiateProtocolVersion(minor: Int32, unrecognised: [String])
    /// Any other message type: skipped, not fatal (its length frames it).
    case other(type: UInt8)
}

/// The 'R' message's variants.
public enum AuthenticationRequest: Sendable, Equatable {
    case ok
    case cleartextPassword
    case md5Password(salt: [UInt8])
    case sasl(mechanisms: [String])
    case saslContinue([UInt8])
    case saslFinal([UInt8])
    /// Kerberos, GSSAPI, SSPI, ...: methods this client does not offer.
    case unsupported(code: Int32)
}

/// An ErrorResponse or NoticeResponse: fields by their one-byte codes.
public struct ServerNotice: Sendable, Equatable, CustomStringConvertible {
    public var fields: [UInt8: String]

    public init(fields: [UInt8: String]) { self.fields = fields }

    /// `S`/`V`: ERROR, FATAL, WARNING, ...
    public var severity: String { fields[UInt8(ascii: "V")] ?? fields[UInt8(ascii: "S")] ?? "ERROR" }
    /// `C`: the SQLSTATE (`53300` too many connections, `28P01` bad password, `08P01` protocol violation).
    public var sqlState: String { fields[UInt8(ascii: "C")] ?? "" }
    /// `M`: the primary message.
    public var message: String { fields[UInt8(ascii: "M")] ?? "" }

    public var description: String { "\(severity) \(sqlState): \(message)" }
}

/// A server stream that breaks the protocol: the connection cannot go on.
public enum WireError: Error, Equatable, CustomStringConvertible {
    case badLength(type: UInt8, length: Int)
    case truncated(type: UInt8)
    case badText(type: UInt8)

    public var description: String {
        switch self {
        case .badLength(let t, let n): "protocol error: message '\(Character(Unicode.Scalar(t)))' claims length \(n)"
        case .truncated(let t): "protocol error: message '\(Character(Unicode.Scalar(t)))' ends early"
        case .badText(let t): "protocol error: message '\(Character(Unicode.Scalar(t)))' holds a string without its terminator"
        }
    }
}

/// Cuts a byte stream into backend messages as bytes arrive, in any chunking.
public struct WireDecoder: Sendable {
    /// Larger than any console reply; a length beyond it is a broken stream, not a big row.
    public static let maxMessage = 16 << 20
    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        // Compact now and then so a long-lived connection's buffer does not grow.
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole message, or nil until more bytes arrive.
    public mutating func next() throws(WireError) -> BackendMessage? {
        guard buffer.count - start >= 5 else { return nil }
        let type = buffer[start]
        let length = Int(BytesReader.int32(buffer, at: start + 1))
        guard length >= 4, length <= WireDecoder.maxMessage else { throw .badLength(type: type, length: length) }
        guard buffer.count - start >= 1 + length else { return nil }
        let body = Array(buffer[(start + 5)..<(start + 1 + length)])
        start += 1 + length
        return try WireDecoder.decode(type: type, body: body)
    }

    /// Decodes one message body (after its type byte and length).
    public static func decode(type: UInt8, body: [UInt8]) throws(WireError) -> BackendMessage {
        var r = BytesReader(body, type: type)
        switch type {
        case UInt8(ascii: "R"):
            let code = try r.int32()
            switch code {
            case 0: return .authentication(.ok)
            case 3: return .authentication(.cleartextPassword)
            case 5: return .authentication(.md5Password(salt: try r.bytes(4)))
            case 10:
                var mechanisms: [String] = []
                while r.remaining > 0 {
                    let m = try r.cString()
                    if m.isEmpty { break }
                    mechanisms.append(m)
                }
                return .authentication(.sasl(mechanisms: mechanisms))
            case 11: return .authentication(.saslContinue(r.rest()))
            case 12: return .authentication(.saslFinal(r.rest()))
            default: return .authentication(.unsupported(code: code))
            }
        case UInt8(ascii: "S"):
            return .parameterStatus(name: try r.cString(), value: try r.cString())
        case UInt8(ascii: "K"):
            return .backendKeyData(processID: try r.int32(), secret: r.rest())
        case UInt8(ascii: "Z"):
            return .readyForQuery(status: try r.bytes(1)[0])
        case UInt8(ascii: "T"):
            let n = Int(try r.int16())
            var names: [String] = []
            names.reserveCapacity(max(0, n))
            for _ in 0..<max(0, n) {
                names.append(try r.cString())
                // table oid, column number, type oid, type size, type modifier, format code
                _ = try r.bytes(4 + 2 + 4 + 2 + 4 + 2)
            }
            return .rowDescription(names)
        case UInt8(ascii: "D"):
            let n = Int(try r.int16())
            var values: [String?] = []
            values.reserveCapacity(max(0, n))
            for _ in 0..<max(0, n) {
                let len = Int(try r.int32())
                if len < 0 {
                    values.append(nil)
                } else {
                    values.append(String(decoding: try r.bytes(len), as: UTF8.self))
                }
            }
            return .dataRow(values)
        case UInt8(ascii: "C"):
            return .commandComplete(tag: try r.cString())
        case UInt8(ascii: "I"):
            return .emptyQueryResponse
        case UInt8(ascii: "E"), UInt8(ascii: "N"):
            var fields: [UInt8: String] = [:]
            while r.remaining > 0 {
                let code = try r.bytes(1)[0]
                if code == 0 { break }
                fields[code] = try r.cString()
            }
            let notice = ServerNotice(fields: fields)
            return type == UInt8(ascii: "E") ? .error(notice) : .notice(notice)
        case UInt8(ascii: "v"):
            let minor = try r.int32()
            let n = Int(try r.int32())
            var options: [String] = []
            for _ in 0..<max(0, n) { options.append(try r.cString()) }
            return .negotiateProtocolVersion(minor: minor, unrecognised: options)
        default:
            return .other(type: type)
        }
    }
}

/// Reads big-endian integers and C strings from one message body.
struct BytesReader {
    private let bytes: [UInt8]
    private var at = 0
    private let type: UInt8

    init(_ bytes: [UInt8], type: UInt8) {
        self.bytes = bytes
        self.type = type
    }

    var remaining: Int { bytes.count - at }

    static func int32(_ b: [UInt8], at i: Int) -> Int32 {
        Int32(bitPattern: UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3]))
    }

    mutating func int32() throws(WireError) -> Int32 {
        guard remaining >= 4 else { throw .truncated(type: type) }
        defer { at += 4 }
        return BytesReader.int32(bytes, at: at)
    }

    mutating func int16() throws(WireError) -> Int16 {
        guard remaining >= 2 else { throw .truncated(type: type) }
        defer { at += 2 }
        return Int16(bitPattern: UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]))
    }

    mutating func bytes(_ n: Int) throws(WireError) -> [UInt8] {
        guard n >= 0, remaining >= n else { throw .truncated(type: type) }
        defer { at += n }
        return Array(bytes[at..<(at + n)])
    }

    mutating func cString() throws(WireError) -> String {
        guard let end = bytes[at...].firstIndex(of: 0) else { throw .badText(type: type) }
        defer { at = end + 1 }
        return String(decoding: bytes[at..<end], as: UTF8.self)
    }

    mutating func rest() -> [UInt8] {
        defer { at = bytes.count }
        return Array(bytes[at...])
    }
}

/// What the client sends, encoded.
public enum FrontendMessage: Sendable, Equatable {
    /// The first message: protocol 3.0 and the startup parameters (`user`, `database`, ...).
    case startup(parameters: [(String, String)])
    /// 'p' with a NUL-terminated password (cleartext or the md5 digest string).
    case password(String)
    /// 'p': the SASL mechanism chosen and the client-first-message.
    case saslInitialResponse(mechanism: String, data: [UInt8])
    /// 'p': the client-final-message.
    case saslResponse([UInt8])
    /// 'Q': one or more statements, simple protocol.
    case query(String)
    /// 'X': goodbye.
    case terminate

    public static func == (a: FrontendMessage, b: FrontendMessage) -> Bool { a.bytes == b.bytes }

    /// The message on the wire.
    public var bytes: [UInt8] {
        var body: [UInt8] = []
        let type: UInt8?
        switch self {
        case .startup(let parameters):
            type = nil
            FrontendMessage.append(int32: 196_608, to: &body) // 3 << 16 | 0: protocol 3.0
            for (k, v) in parameters {
                FrontendMessage.append(cString: k, to: &body)
                FrontendMessage.append(cString: v, to: &body)
            }
            body.append(0)
        case .password(let p):
            type = UInt8(ascii: "p")
            FrontendMessage.append(cString: p, to: &body)
        case .saslInitialResponse(let mechanism, let data):
            type = UInt8(ascii: "p")
            FrontendMessage.append(cString: mechanism, to: &body)
            FrontendMessage.append(int32: Int32(data.count), to: &body)
            body.append(contentsOf: data)
        case .saslResponse(let data):
            type = UInt8(ascii: "p")
            body.append(contentsOf: data)
        case .query(let sql):
            type = UInt8(ascii: "Q")
            FrontendMessage.append(cString: sql, to: &body)
        case .terminate:
            type = UInt8(ascii: "X")
        }
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 5)
        if let t = type { out.append(t) }
        FrontendMessage.append(int32: Int32(body.count + 4), to: &out)
        out.append(contentsOf: body)
        return out
    }

    static func append(int32 v: Int32, to out: inout [UInt8]) {
        let u = UInt32(bitPattern: v)
        out.append(contentsOf: [UInt8(u >> 24), UInt8(u >> 16 & 0xff), UInt8(u >> 8 & 0xff), UInt8(u & 0xff)])
    }

    static func append(cString s: String, to out: inout [UInt8]) {
        // A NUL inside would end the string early on the server; nothing Skein sends has one.
        out.append(contentsOf: s.utf8.filter { $0 != 0 })
        out.append(0)
    }
}
