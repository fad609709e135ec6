import SkeinCore
import CSkeinSys

/// Recognises database connection failures in any log message: the server's own FATALs and the
/// errors client libraries raise when they see them (Prisma, node-postgres, psycopg, pgx, Npgsql, ...).
///
/// One pass over the message's bytes, case-insensitive: each position's next four bytes are looked
/// up in a table of the phrases' first four, and only a hit is compared with the phrases that start
/// with its first two; a message with none of them costs one table look-up per byte.
public enum DBErrorClassifier {
    public static func classify(_ message: String) -> DBErrorKind? {
        var m = message
        return m.withUTF8 { classify(bytes: $0) }
    }

    /// The first four bytes of every phrase (the `switch` below), with 0x20 set in each (lower case
    /// for letters; digits and spaces have it already), hashed to a bit in a 4096-bit table. A
    /// position whose bit is set is then looked at exactly; any other starts no phrase. (A table of
    /// the first two bytes, as before, sent common pairs such as `te`, `se` and `co` to the exact
    /// comparisons at nearly every word.)
    private static let phraseHeads: [UInt64] = {
        var bits = [UInt64](repeating: 0, count: 64)
        for head in ["rema", "too ", "time", "term", "p202", "p203", "pool", "conn", "coul", "serv", "queu", "5330"] {
            let u = Array(head.utf8)
            let key = UInt32(u[0]) | UInt32(u[1]) << 8 | UInt32(u[2]) << 16 | UInt32(u[3]) << 24
            let h = headHash(key)
            bits[h >> 6] |= 1 << UInt64(h & 63)
        }
        return bits
    }()

    @inline(__always)
    private static func headHash(_ key: UInt32) -> Int { Int(((key | 0x2020_2020) &* 0x9E37_79B1) >> 20) }

    public static func classify(bytes b: UnsafeBufferPointer<UInt8>) -> DBErrorKind? {
        // Every phrase is at least five bytes long, so the last four bytes start none.
        guard b.count >= 5 else { return nil }
        return phraseHeads.withUnsafeBufferPointer { classify(b, heads: $0) }
    }

    private static func classify(_ b: UnsafeBufferPointer<UInt8>, heads: UnsafeBufferPointer<UInt64>) -> DBErrorKind? {
        var found: DBErrorKind?
        var sqlstate53300 = false
        var i = 0
        let n = b.count
        let raw = UnsafeRawPointer(b.baseAddress!)
        // Sixteen positions at a time first: only those whose first two bytes pair as a phrase's
        // do (`skein_db_phrase_pairs16`, a superset of what the switch below takes) go on to the
        // table and the switch. A routine message has none: about two instructions a byte instead
        // of a table look-up per byte. The block's 17 bytes must lie in the message.
        while i + 17 <= n {
            var m = skein_db_phrase_pairs16(b.baseAddress! + i)
            while m != 0 {
                let at = i + m.trailingZeroBitCount
                m &= m - 1
                guard at + 4 < n else { break }
                // The head table here, in the loop: a routine message's pairs (`se` in `user`, `co`
                // in `record`) nearly all stop at it, and the call below costs more than the look-up.
                guard startsPhraseHead(at, raw, heads) else { continue }
                if let r = examine(at, b, raw, heads, &found, &sqlstate53300) { return r }
            }
            i += 16
        }
        while i + 4 < n {
            if startsPhraseHead(i, raw, heads), let r = examine(i, b, raw, heads, &found, &sqlstate53300) { return r }
            i += 1
        }
        if let found { return found }
        return sqlstate53300 ? .tooManyClients : nil
    }

    /// Whether the four bytes at `i` hash to a bit of the phrase-head table: any position that
    /// starts a phrase does (the converse is for `examine` to settle).
    @inline(__always)
    private static func startsPhraseHead(_ i: Int, _ raw: UnsafeRawPointer, _ heads: UnsafeBufferPointer<UInt64>) -> Bool {
        let h = headHash(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
        return heads[h >> 6] & (1 << UInt64(h & 63)) != 0
    }

    /// The same answer position by position, without the 16-byte filter: what tests hold the
    /// filtered pass to.
    static func classifyEveryPosition(bytes b: UnsafeBufferPointer<UInt8>) -> DBErrorKind? {
        guard b.count >= 5 else { return nil }
        return phraseHeads.withUnsafeBufferPointer { heads in
            var found: DBErrorKind?
            var sqlstate53300 = false
            let raw = UnsafeRawPointer(b.baseAddress!)
            var i = 0
            while i + 4 < b.count {
                if startsPhraseHead(i, raw, heads), let r = examine(i, b, raw, heads, &found, &sqlstate53300) { return r }
                i += 1
            }
            if let found { return found }
            return sqlstate53300 ? .tooManyClients : nil
        }
    }

    /// One position of the message: whether a phrase starts there. Returns a kind to answer at
    /// once (the reserved-slots FATAL); otherwise records what it found in `found` (the first
    /// kind) and `sqlstate53300`. Its first step is `startsPhraseHead`, which the scanning loops
    /// take before the call.
    private static func examine(_ i: Int, _ b: UnsafeBufferPointer<UInt8>, _ raw: UnsafeRawPointer,
                                _ heads: UnsafeBufferPointer<UInt64>, _ found: inout DBErrorKind?,
                                _ sqlstate53300: inout Bool) -> DBErrorKind? {
        let n = b.count
        let c = ByteText.lower(b[i])
        let d = ByteText.lower(b[i + 1])
        switch c {
        case UInt8(ascii: "r") where d == UInt8(ascii: "e"):
            // Both `…reserved for non-replication superuser connections` (≤ PG15) and
            // `…reserved for roles with the SUPERUSER attribute` (PG16+).
            if ByteText.hasPrefixIgnoringCase(b, "remaining connection slots are reserved", at: i) {
                return .reservedSlots
            }
        case UInt8(ascii: "t") where d == UInt8(ascii: "o") || d == UInt8(ascii: "i") || d == UInt8(ascii: "e"):
            if ByteText.hasPrefixIgnoringCase(b, "too many clients", at: i)
                || ByteText.hasPrefixIgnoringCase(b, "too many connections", at: i)
                || ByteText.hasPrefixIgnoringCase(b, "too many database connections", at: i) {
                found = found ?? .tooManyClients
            } else if ByteText.hasPrefixIgnoringCase(b, "timeout exceeded when trying to connect", at: i)
                || ByteText.hasPrefixIgnoringCase(b, "timed out fetching a new connection", at: i)
                // ADO.NET's pool (SqlClient, and drivers that copy its text): `Timeout expired.  The timeout
                // period elapsed prior to obtaining a connection from the pool.` Its other timeout, `…prior
                // to completion of the operation…`, is a slow query, not a pool.
                || ByteText.hasPrefixIgnoringCase(b, "timeout period elapsed prior to obtaining a connection", at: i)
                // Npgsql 2.x: `Timeout while getting a connection from pool.`
                || ByteText.hasPrefixIgnoringCase(b, "timeout while getting a connection from pool", at: i) {
                found = found ?? .poolTimeout
            } else if ByteText.hasPrefixIgnoringCase(b, "terminating connection due to administrator command", at: i) {
                found = found ?? .connectionLost
            }
        case UInt8(ascii: "p") where d == UInt8(ascii: "2") || d == UInt8(ascii: "o"):
            // Prisma's error codes, quoted as `P2024` or `code: 'P2024'`.
            if i + 5 <= n, ByteText.hasPrefixIgnoringCase(b, "p20", at: i), i == 0 || !isWordByte(b[i - 1]),
               i + 5 == n || !isWordByte(b[i + 5]) {
                if b[i + 3] == UInt8(ascii: "2") && b[i + 4] == UInt8(ascii: "4") { found = found ?? .poolTimeout }
                if b[i + 3] == UInt8(ascii: "3") && b[i + 4] == UInt8(ascii: "7") { found = found ?? .tooManyClients }
            } else if ByteText.hasPrefixIgnoringCase(b, "pooltimeout", at: i) {
                // psycopg_pool.PoolTimeout: couldn't get a connection after 30.00 sec
                found = found ?? .poolTimeout
            }
        case UInt8(ascii: "c") where d == UInt8(ascii: "o"):
            if ByteText.hasPrefixIgnoringCase(b, "connection terminated unexpectedly", at: i)
                || ByteText.hasPrefixIgnoringCase(b, "connection reset by peer", at: i) {
                found = found ?? .connectionLost
            } else if ByteText.hasPrefixIgnoringCase(b, "couldn't get a connection after", at: i)
                || ByteText.hasPrefixIgnoringCase(b, "connection is not available, request timed out", at: i)
                // Npgsql 3.2+: `The connection pool has been exhausted, either raise 'Max Pool Size'
                // (currently 100) or 'Timeout' (currently 15 seconds) in your connection string.` (older
                // versions: `raise MaxPoolSize … or Timeout …`): the wait for a pooled connection timed out.
                || ByteText.hasPrefixIgnoringCase(b, "connection pool has been exhausted", at: i) {
                found = found ?? .poolTimeout
            }
        case UInt8(ascii: "s") where d == UInt8(ascii: "e"):
            if ByteText.hasPrefixIgnoringCase(b, "server closed the connection unexpectedly", at: i) {
                found = found ?? .connectionLost
            }
        case UInt8(ascii: "q") where d == UInt8(ascii: "u"):
            // SQLAlchemy: `QueuePool limit of size 5 overflow 10 reached, connection timed out`.
            if ByteText.hasPrefixIgnoringCase(b, "queuepool limit", at: i) { found = found ?? .poolTimeout }
        case UInt8(ascii: "5") where d == UInt8(ascii: "3"):
            // SQLSTATE 53300 (too_many_connections), as pgx (`(SQLSTATE 53300)`), node-postgres
            // (`code: '53300'`) or JSON (`"code":"53300"`) quote it; a bare number elsewhere is not enough.
            if i + 5 <= n, ByteText.hasPrefix(b, "53300", at: i), i == 0 || !ByteText.isDigit(b[i - 1]),
               i + 5 == n || !ByteText.isDigit(b[i + 5]) {
                sqlstate53300 = precededBySQLStateWord(b, i)
            }
        default:
            break
        }
        return nil
    }

    /// Attribute keys loggers put error text or codes under: among them the exception or stack
    /// trace, whose first line carries the driver's message (Serilog's compact `@x`, .NET's JSON console
    /// `Exception`, structlog's `exception`, python-json-logger's `exc_info`, ECS's `error.stack_trace`,
    /// pino's `err.stack`).
    static func isErrorKey(_ key: String) -> Bool {
        // By length, then bytes: a `String` switch compares the key with every name in turn, with
        // Unicode rules no ASCII name needs.
        var k = key
        return k.withUTF8 { b in
            switch b.count {
            case 2: return ByteText.equal(b, "@x")
            case 3: return ByteText.equal(b, "err")
            case 4: return ByteText.equal(b, "code")
            case 5: return ByteText.equal(b, "error") || ByteText.equal(b, "stack") || ByteText.equal(b, "cause")
            case 6: return ByteText.equal(b, "pgcode") || ByteText.equal(b, "reason")
            case 7: return ByteText.equal(b, "err.msg")
            case 8: return ByteText.equal(b, "exc_info") || ByteText.equal(b, "err.code") || ByteText.equal(b, "sqlstate")
            case 9:
                // `Exception`: .NET's JSON console formatter and Serilog's `JsonFormatter` (exact case, like every name).
                return ByteText.equal(b, "exception") || ByteText.equal(b, "Exception") || ByteText.equal(b, "err.stack") || ByteText.equal(b, "errorCode")
                    || ByteText.equal(b, "errorType") || ByteText.equal(b, "err.cause")
            case 10: return ByteText.equal(b, "error.code")
            case 11:
                return ByteText.equal(b, "err.message") || ByteText.equal(b, "error.stack") || ByteText.equal(b, "stack_trace")
                    || ByteText.equal(b, "error.cause")
            case 12: return ByteText.equal(b, "errorMessage")
            case 13: return ByteText.equal(b, "error.message")
            case 14: return ByteText.equal(b, "status.message")
            case 17: return ByteText.equal(b, "exception.message") || ByteText.equal(b, "error.stack_trace")
            case 20: return ByteText.equal(b, "exception.stacktrace")
            default: return false
            }
        }
    }

    @inline(__always)
    private static func isWordByte(_ c: UInt8) -> Bool {
        ByteText.isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == UInt8(ascii: "_")
    }

    /// Whether `sqlstate` or `code` appears shortly before `at`.
    private static func precededBySQLStateWord(_ b: UnsafeBufferPointer<UInt8>, _ at: Int) -> Bool {
        let from = max(0, at - 16)
        for j in from..<at {
            if ByteText.hasPrefixIgnoringCase(b, "sqlstate", at: j) || ByteText.hasPrefixIgnoringCase(b, "code", at: j) {
                return true
            }
        }
        return false
    }

    /// Marks an event whose message (or error field: `err.message`, `error`, `exc_info`, `code`, ...)
    /// names a DB failure: a plain log line becomes `db.error`.
    ///
    /// Every decoder calls this on what it produced; an event that already knows its error keeps it.
    public static func apply(to event: inout Event) {
        guard event.dbError == nil else { return }
        var found = event.message.flatMap { $0.isEmpty ? nil : classify($0) }
        if found == nil {
            for a in event.attributes where isErrorKey(a.key) {
                if let k = classify(a.value) { found = k; break }
            }
        }
        guard let kind = found else { return }
        event.dbError = kind
        if event.kind == .log { event.kind = .dbError }
        if event.level < .error { event.level = .error }
    }
}
