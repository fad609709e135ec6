import Foundation

/// Where a sampler connects, from a `postgres://` URL or the libpq `PG*` variables.
///
/// The password lives only here: `description`, `sourceName` and `redact(_:)` never show it, so
/// nothing Skein prints, records or draws can leak it.
public struct PostgresTarget: Sendable, Equatable, CustomStringConvertible {
    /// libpq's `sslmode`, reduced to what the sampler can honour.
    public enum TLSMode: String, Sendable, Equatable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// A Unix-domain socket directory (`host=/tmp`, `PGHOST=/var/run/postgresql`), when not TCP.
    public var socketDirectory: String? { host.hasPrefix("/") ? host : nil }

    public init(host: String = "localhost", port: Int = 5432, user: String, password: String? = nil,
                database: String? = nil, tls: TLSMode = .prefer) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database ?? user
        self.tls = tls
    }

    /// `host:port`, the instance name of the sampled server.
    public var address: String { "\(host):\(port)" }
    /// `host:port/db`: what Skein shows; never the user's password.
    public var description: String { "\(address)/\(database)" }

    /// Replaces the password wherever it appears in `text` (an error message, a URL).
    public func redact(_ text: String) -> String {
        var s = PostgresTarget.redactURLs(text)
        if let p = password, !p.isEmpty {
            s = s.replacingOccurrences(of: p, with: "***")
            if let enc = p.addingPercentEncoding(withAllowedCharacters: .alphanumerics), enc != p {
                s = s.replacingOccurrences(of: enc, with: "***")
            }
        }
        return s
    }

    /// Masks `user:password@` in any `scheme://` URL inside `text`.
    public static func redactURLs(_ text: String) -> String {
        guard text.contains("://") else { return text }
        var out = ""
        var rest = Substring(text)
        while let r = rest.range(of: "://") {
            out += rest[..<r.upperBound]
            rest = rest[r.upperBound...]
            let end = rest.firstIndex { $0 == "/" || $0 == " " || $0 == "?" || $0 == "\"" || $0 == "'" } ?? rest.endIndex
            let authority = rest[..<end]
            if let at = authority.lastIndex(of: "@") {
                let userinfo = authority[..<at]
                if let colon = userinfo.firstIndex(of: ":") {
                    out += userinfo[..<colon] + ":***"
                } else {
                    out += userinfo
                }
                out += "@"
                rest = rest[rest.index(after: at)...]
            }
        }
        return out + rest
    }

    /// Reads `postgres[ql]://user:password@host:port/db?sslmode=...`; missing parts come from `environment`.
    public static func parse(url: String, environment: [String: String] = [:]) throws(TargetError) -> PostgresTarget {
        guard let c = URLComponents(string: url), let scheme = c.scheme,
              scheme == "postgres" || scheme == "postgresql" else {
            throw .badURL(redactURLs(url))
        }
        var t = try fromEnvironment(environment)
        if let h = c.percentEncodedHost, !h.isEmpty { t.host = h.removingPercentEncoding ?? h }
        if let p = c.port { t.port = p }
        if let u = c.user, !u.isEmpty { t.user = u }
        if let p = c.password { t.password = p }
        let path = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        if !path.isEmpty { t.database = path } else if c.user != nil, environment["PGDATABASE"] == nil { t.database = t.user }
        for item in c.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let v = item.value, let m = TLSMode(rawValue: v) else { throw .badOption("sslmode", item.value ?? "") }
                t.tls = m
            case "host":
                // libpq's `?host=/var/run/postgresql` for sockets.
                if let v = item.value, !v.isEmpty { t.host = v }
            case "port":
                guard let v = item.value, let p = Int(v), (1...65_535).contains(p) else { throw .badOption("port", item.value ?? "") }
                t.port = p
            case "user":
                if let v = item.value, !v.isEmpty { t.user = v }
            case "dbname":
                if let v = item.value, !v.isEmpty { t.database = v }
            default:
                break
            }
        }
        return t
    }

    /// The libpq variables: `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`.
    public static func fromEnvironment(_ env: [String: String]) throws(TargetError) -> PostgresTarget {
        let user = env["PGUSER"] ?? env["USER"] ?? "postgres"
        var port = 5432
        if let p = env["PGPORT"] {
            guard let v = Int(p), (1...65_535).contains(v) else { throw .badOption("PGPORT", p) }
            port = v
        }
        var tls = TLSMode.prefer
        if let m = env["PGSSLMODE"] {
            guard let v = TLSMode(rawValue: m) else { throw .badOption("PGSSLMODE", m) }
            tls = v
        }
        return PostgresTarget(host: env["PGHOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "localhost", port: port, user: user,
                              password: env["PGPASSWORD"], database: env["PGDATABASE"], tls: tls)
    }
}

/// Why a connection setting could not be read; messages never carry a password.
public enum TargetError: Error, Equatable, CustomStringConvertible {
    case badURL(String)
    case badOption(String, String)

    public var description: String {
        switch self {
        case .badURL(let u): "not a postgres:// URL: \(u)"
        case .badOption(let k, let v): "bad \(k) \(v)"
        }
    }
}
