import Foundation

/// Why a console conversation stopped. Messages never carry the password.
public enum ConsoleError: Error, Equatable, CustomStringConvertible {
    /// The server said no (login refused, bad query, too many clients...).
    case server(ServerNotice)
    /// The server asked for a password and none was given.
    case passwordRequired
    /// An authentication method this client does not speak (Kerberos, GSSAPI, SSPI, a SASL mechanism other than SCRAM-SHA-256).
    case unsupportedAuthentication(String)
    /// SCRAM went wrong: a bad server nonce, iteration count or signature (a server that does not know the password).
    case scram(String)
    /// A message that does not belong at this point of the conversation.
    case unexpected(String)
    case wire(WireError)
    /// The connection closed before the answer.
    case closed
    /// No answer within the limit.
    case timeout(seconds: Double)

    public var description: String {
        switch self {
        case .server(let n): n.message.isEmpty ? n.description : n.message
        case .passwordRequired: "the server asks for a password and none was given (PGPASSWORD or the URL)"
        case .unsupportedAuthentication(let m): "unsupported authentication method \(m) (Skein speaks trust, password, md5 and SCRAM-SHA-256)"
        case .scram(let m): "SCRAM authentication failed: \(m)"
        case .unexpected(let m): "protocol error: unexpected \(m)"
        case .wire(let w): w.description
        case .closed: "the server closed the connection"
        case .timeout(let s): "no answer within \(s) s"
        }
    }
}

/// The login half of a conversation: startup, authentication, until the first ReadyForQuery.
///
/// Pure: feed it backend messages, send what it returns. Speaks trust, cleartext password, md5
/// and SCRAM-SHA-256 (without channel binding, as over a plain connection).
public struct ConsoleLogin: Sendable {
    public enum Step: Sendable, Equatable {
        case send(FrontendMessage)
        case wait
        case ready
    }

    public let user: String
    private let password: String?
    public let database: String
    public let applicationName: String
    private var scram: ScramSHA256?
    private let nonce: String?
    private var authenticated = false
    /// `ParameterStatus` values the server sent (`server_version`, `application_name`, ...).
    public private(set) var parameters: [String: String] = [:]

    /// `nonce` fixes SCRAM's client nonce (tests); nil draws a random one.
    public init(user: String, password: String?, database: String, applicationName: String = "skein", nonce: String? = nil) {
        self.user = user
        self.password = password
        self.database = database
        self.applicationName = applicationName
        self.nonce = nonce
    }

    /// The first message.
    public var startup: FrontendMessage {
        .startup(parameters: [("user", user), ("database", database), ("application_name", applicationName)])
    }

    public mutating func receive(_ m: BackendMessage) throws(ConsoleError) -> Step {
        switch m {
        case .authentication(let a):
            return try authentication(a)
        case .parameterStatus(let k, let v):
            parameters[k] = v
            return .wait
        case .backendKeyData, .notice, .negotiateProtocolVersion, .other:
            return .wait
        case .readyForQuery:
            guard authenticated else { throw .unexpected("ReadyForQuery before authentication") }
            return .ready
        case .error(let e):
            throw .server(e)
        case .rowDescription, .dataRow, .commandComplete, .emptyQueryResponse:
            throw .unexpected("query results during login")
        }
    }

    private mutating func authentication(_ a: AuthenticationRequest) throws(ConsoleError) -> Step {
        switch a {
        case .ok:
            if let s = scram, !s.verified { throw .scram("the server accepted the login without proving it knows the password") }
            authenticated = true
            return .wait
        case .cleartextPassword:
            guard let p = password else { throw .passwordRequired }
            return .send(.password(p))
        case .md5Password(let salt):
            guard let p = password else { throw .passwordRequired }
            return .send(.password(PasswordHash.postgresMD5(user: user, password: p, salt: salt)))
        case .sasl(let mechanisms):
            guard mechanisms.contains(ScramSHA256.mechanism) else {
                throw .unsupportedAuthentication("SASL " + mechanisms.joined(separator: ", "))
            }
            guard let p = password else { throw .passwordRequired }
            let s = ScramSHA256(password: p, clientNonce: nonce ?? ScramSHA256.randomNonce())
            scram = s
            return .send(.saslInitialResponse(mechanism: ScramSHA256.mechanism, data: s.clientFirstMessage))
        case .saslContinue(let data):
            guard var s = scram else { throw .unexpected("SASLContinue without SASL") }
            let final = try s.clientFinal(serverFirst: data)
            scram = s
            return .send(.saslResponse(final))
        case .saslFinal(let data):
            guard var s = scram else { throw .unexpected("SASLFinal without SASL") }
            try s.verify(serverFinal: data)
            scram = s
            return .wait
        case .unsupported(let code):
            let names: [Int32: String] = [2: "Kerberos V5", 6: "SCM credentials", 7: "GSSAPI", 8: "GSSAPI", 9: "SSPI"]
            throw .unsupportedAuthentication(names[code] ?? "code \(code)")
        }
    }
}

/// The answer to one statement of a simple query: its columns, rows (text) and completion tag.
public struct ResultSet: Sendable, Equatable {
    public var columns: [String] = []
    public var rows: [[String?]] = []
    public var tag: String = ""

    public init(columns: [String] = [], rows: [[String?]] = [], tag: String = "") {
        self.columns = columns
        self.rows = rows
        self.tag = tag
    }

    /// Rows as column name → value (NULLs left out), so readers go by name, not position:
    /// PgBouncer's `SHOW` columns differ between versions.
    public var records: [[String: String]] {
        rows.map { row in
            var r: [String: String] = [:]
            for (i, v) in row.enumerated() where i < columns.count {
                if let v { r[columns[i]] = v }
            }
            return r
        }
    }
}

/// The reply to one 'Q' message: result sets until ReadyForQuery, or the error the server sent.
public struct QueryReply: Sendable {
    public private(set) var results: [ResultSet] = []
    private var current: ResultSet?
    public private(set) var error: ServerNotice?

    public init() {}

    /// True once the reply is complete (ReadyForQuery).
    public mutating func receive(_ m: BackendMessage) throws(ConsoleError) -> Bool {
        switch m {
        case .rowDescription(let columns):
            current = ResultSet(columns: columns)
        case .dataRow(let values):
            guard current != nil else { throw .unexpected("DataRow without RowDescription") }
            current?.rows.append(values)
        case .commandComplete(let tag):
            var r = current ?? ResultSet()
            r.tag = tag
            results.append(r)
            current = nil
        case .emptyQueryResponse:
            results.append(ResultSet())
        case .error(let e):
            // The server still ends with ReadyForQuery; keep reading to stay in step.
            error = error ?? e
            current = nil
        case .readyForQuery:
            return true
        case .parameterStatus, .notice, .other, .negotiateProtocolVersion, .backendKeyData:
            break
        case .authentication:
            throw .unexpected("authentication during a query")
        }
        return false
    }

    /// The result sets, or the server's error.
    public func get() throws(ConsoleError) -> [ResultSet] {
        if let e = error { throw .server(e) }
        return results
    }
}

/// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL and PgBouncer speak it, without channel binding.
struct ScramSHA256: Sendable {
    static let mechanism = "SCRAM-SHA-256"
    /// More would stall a login for seconds: a server asking it is broken or hostile.
    static let maxIterations = 1_000_000

    let password: String
    let clientNonce: String
    /// PostgreSQL ignores SCRAM's user name (the startup message's counts), as libpq sends it empty.
    let user: String
    private var expectedServerSignature: [UInt8]?
    private(set) var verified = false

    init(password: String, clientNonce: String, user: String = "") {
        self.password = password
        self.clientNonce = clientNonce
        self.user = user
    }

    static func randomNonce() -> String {
        var g = SystemRandomNumberGenerator()
        let bytes = (0..<18).map { _ in UInt8.random(in: 0...255, using: &g) }
        return Data(bytes).base64EncodedString()
    }

    var clientFirstBare: String { "n=\(user),r=\(clientNonce)" }
    /// `n,,`: no channel binding.
    var clientFirstMessage: [UInt8] { Array(("n,," + clientFirstBare).utf8) }

    /// Answers the server-first-message with the client-final-message (the proof).
    mutating func clientFinal(serverFirst: [UInt8]) throws(ConsoleError) -> [UInt8] {
        let text = String(decoding: serverFirst, as: UTF8.self)
        let attrs = ScramSHA256.attributes(text)
        if let e = attrs["e"] { throw .scram("server error \(e)") }
        guard let nonce = attrs["r"], nonce.hasPrefix(clientNonce), nonce.count > clientNonce.count else {
            throw .scram("the server's nonce does not extend ours")
        }
        guard let saltText = attrs["s"], let salt = Data(base64Encoded: saltText) else { throw .scram("no salt") }
        guard let iterText = attrs["i"], let iterations = Int(iterText), iterations > 0, iterations <= ScramSHA256.maxIterations else {
            throw .scram("bad iteration count \(attrs["i"] ?? "")")
        }
        let withoutProof = "c=biws,r=\(nonce)"
        let authMessage = Array((clientFirstBare + "," + text + "," + withoutProof).utf8)
        let salted = PasswordHash.pbkdf2SHA256(password: Array(password.utf8), salt: Array(salt), iterations: iterations)
        let clientKey = PasswordHash.hmacSHA256(key: salted, Array("Client Key".utf8))
        let storedKey = PasswordHash.sha256(clientKey)
        let signature = PasswordHash.hmacSHA256(key: storedKey, authMessage)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        let serverKey = PasswordHash.hmacSHA256(key: salted, Array("Server Key".utf8))
        expectedServerSignature = PasswordHash.hmacSHA256(key: serverKey, authMessage)
        return Array((withoutProof + ",p=" + Data(proof).base64EncodedString()).utf8)
    }

    /// Checks the server-final-message: the server proves it knew the password too.
    mutating func verify(serverFinal: [UInt8]) throws(ConsoleError) {
        let attrs = ScramSHA256.attributes(String(decoding: serverFinal, as: UTF8.self))
        if let e = attrs["e"] { throw .scram("server error \(e)") }
        guard let v = attrs["v"], let got = Data(base64Encoded: v), let want = expectedServerSignature else {
            throw .scram("no server signature")
        }
        guard Array(got) == want else { throw .scram("the server's signature does not match") }
        verified = true
    }

    /// `k=v,k=v` (values may hold `=`, as base64 does).
    static func attributes(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for part in text.split(separator: ",") {
            guard let eq = part.firstIndex(of: "="), part.distance(from: part.startIndex, to: eq) == 1 else { continue }
            out[String(part[..<eq])] = String(part[part.index(after: eq)...])
        }
        return out
    }
}
