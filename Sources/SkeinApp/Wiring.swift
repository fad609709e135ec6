import SkeinCore
import SkeinDecoders
import SkeinEngine
import SkeinSources

/// Errors the verbs report to users; only the executable turns them into exit codes.
public enum AppError: Error, Equatable, CustomStringConvertible {
    case noInput
    case unknownFormat(String, known: [String])
    case badSize(String)
    case badTime(String)
    case emptyRecording([String])
    case io(String)

    public var description: String {
        switch self {
        case .noInput: "no input: name files, directories, globs or - for standard input"
        case .unknownFormat(let f, let known): "unknown format \(f): known formats are \(known.joined(separator: ", "))"
        case .badSize(let s): "bad size \(s): expected WIDTHxHEIGHT, at least 80x24, e.g. 120x40"
        case .badTime(let s): "bad time \(s): expected RFC 3339 (2026-11-23T10:01:30Z) or an offset such as +90s, +2m"
        case .emptyRecording(let p): "no events in \(p.joined(separator: ", ")): nothing to replay"
        case .io(let s): s
        }
    }
}

/// Parses `120x40`.
public func parseSize(_ text: String) throws -> (width: Int, height: Int) {
    let parts = text.lowercased().split(separator: "x")
    guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w >= 80, h >= 24, w <= 1000, h <= 500 else {
        throw AppError.badSize(text)
    }
    return (w, h)
}

/// Parses a duration such as `90s`, `5m`, `1h`, `250ms`, `1m30s`; a bare number is seconds.
public func parseDuration(_ text: String) -> Double? {
    var total = 0.0
    var number = ""
    var unit = ""
    var sawAny = false
    func commit() -> Bool {
        guard let v = Double(number) else { return false }
        switch unit {
        case "", "s": total += v
        case "ms": total += v / 1000
        case "m": total += v * 60
        case "h": total += v * 3600
        default: return false
        }
        sawAny = true
        number = ""; unit = ""
        return true
    }
    for c in text {
        if c.isNumber || c == "." {
            if !unit.isEmpty { guard commit() else { return nil } }
            number.append(c)
        } else if c.isLetter {
            unit.append(c)
        } else {
            return nil
        }
    }
    if !number.isEmpty { guard commit() else { return nil } }
    return sawAny ? total : nil
}

/// Parses `--at`/`--from`/`--to`: RFC 3339, or `+90s` relative to `start`.
public func parseTime(_ text: String, start: Timestamp) throws -> Timestamp {
    if text.hasPrefix("+") || text.hasPrefix("-") {
        guard let secs = parseDuration(String(text.dropFirst())) else { throw AppError.badTime(text) }
        return start.adding(ms: (text.hasPrefix("-") ? -secs : secs) * 1000)
    }
    guard let t = TimeParsing.parse(text) else { throw AppError.badTime(text) }
    return t
}
