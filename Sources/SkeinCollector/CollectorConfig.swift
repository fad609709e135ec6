import Foundation
import SkeinCore
import SkeinSources

/// How a listener is set up (`skein tail --listen HOST:PORT --token T --max-body N`).
public struct CollectorConfig: Sendable {
    public var host = "127.0.0.1"
    /// 4318 is OTLP/HTTP's registered port; 0 picks a free one (tests).
    public var port = 4318
    /// Required as `Authorization: Bearer TOKEN` on every endpoint but `/healthz` when set.
    public var token: String?
    /// Largest request body, as sent and after gzip is undone.
    public var maxBody = 16 << 20
    /// Events queued for the engine before requests are refused with 429.
    public var queueCapacity = 65_536
    /// Seconds a refused client is asked to wait (`Retry-After`).
    public var retryAfterSeconds = 1
    /// Seconds a connection may stay silent between requests before it is closed.
    public var idleTimeoutSeconds = 60
    /// Seconds from a request's first byte to its last: a client trickling a head or a body past
    /// this is answered 408 and disconnected, so it cannot hold a connection and its buffer forever.
    public var requestTimeoutSeconds = 30
    /// Connections open at once; past this, new ones are answered 503 and closed (and counted).
    public var maxConnections = 1024
    /// Event loop threads decoding requests.
    public var threads = 2
    /// A Vercel drain's signature secret: `/ingest` requests carrying `x-vercel-signature` must
    /// match HMAC-SHA1(secret, body), and a matching signature stands in for the bearer token.
    public var vercelSecret: String?
    /// The ownership code a Vercel drain checks for: sent as `x-vercel-verify` on `/ingest` answers.
    public var vercelVerify: String?

    public init() {}

    /// Parses `HOST:PORT`, `:PORT`, `PORT` or `[::1]:PORT`.
    public static func parseAddress(_ text: String) -> (host: String, port: Int)? {
        var host = "127.0.0.1"
        var portText = Substring(text)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            let h = text[..<colon]
            if !h.isEmpty { host = String(h) }
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65_535).contains(port), !host.isEmpty else { return nil }
        return (host, port)
    }

    /// Loopback addresses never leave the machine: only they may listen without a token.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// Why a listener refused to start; lower-case messages the executable prints.
public enum CollectorError: Error, Equatable, CustomStringConvertible {
    case badAddress(String)
    case tokenRequired(host: String)
    case bind(address: String, reason: String)

    public var description: String {
        switch self {
        case .badAddress(let a): "bad listen address \(a): expected HOST:PORT, e.g. 127.0.0.1:4318"
        case .tokenRequired(let h):
            "refusing to listen on \(h) without --token: anyone who can reach it could send logs; give --token or listen on 127.0.0.1"
        case .bind(let a, let r): "cannot listen on \(a): \(r)"
        }
    }
}

/// What every connection of one listener shares: its settings, the queue to the engine, counters.
public final class CollectorState: @unchecked Sendable {
    public let config: CollectorConfig
    public let queue: IngestQueue
    public let metrics = CollectorMetrics()
    /// The listener's source id in `queue`.
    public let source: SourceID
    /// Connections open now, against `config.maxConnections`.
    public let connections = ConnectionCount()
    let tokenBytes: [UInt8]?
    let vercel: VercelSignature?
    // Written once at shutdown from the closing thread, read by event loops: a lock keeps it honest.
    private let lock = NSLock()
    private var stoppingFlag = false

    public init(config: CollectorConfig, queue: IngestQueue, sourceName: String) {
        self.config = config
        self.queue = queue
        tokenBytes = config.token.map { Array("Bearer \($0)".utf8) }
        vercel = config.vercelSecret.flatMap { $0.isEmpty ? nil : VercelSignature(secret: $0) }
        source = queue.addSource(name: sourceName)
    }

    public var stopping: Bool {
        get { lock.withLock { stoppingFlag } }
        set { lock.withLock { stoppingFlag = newValue } }
    }

    /// Whether an `Authorization` header value carries the token; constant time in the value's bytes.
    /// `Basic` credentials carry it as the password (a drain URL `https://user:TOKEN@host/…`, the
    /// only way a Heroku drain authenticates).
    func authorised(_ header: String?) -> Bool {
        guard let expected = tokenBytes else { return true }
        var header = header
        if let h = header, h.count > 6, h.prefix(6).lowercased() == "basic ",
           let decoded = Data(base64Encoded: String(h.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
           let credentials = String(data: decoded, encoding: .utf8), let colon = credentials.firstIndex(of: ":") {
            header = "Bearer " + credentials[credentials.index(after: colon)...]
        }
        let given = Array((header ?? "").utf8)
        var diff = UInt8(given.count == expected.count ? 0 : 1)
        for i in 0..<max(given.count, expected.count) {
            let a = i < given.count ? given[i] : 0
            let b = i < expected.count ? expected[i] : 0
            diff |= a ^ b
        }
        return diff == 0
    }
}

/// Open connections of one listener, counted on accept and on close (event loops race on it).
public final class ConnectionCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    public init() {}

    public var open: Int { lock.withLock { count } }

    /// Takes a slot if fewer than `limit` are taken.
    public func admit(limit: Int) -> Bool {
        lock.withLock {
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    public func release() {
        lock.withLock { count = max(0, count - 1) }
    }
}
