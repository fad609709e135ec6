import SkeinCore

/// Compact numbers and durations for narrow columns, without Foundation formatters.
public enum Format {
    /// `950`, `12.3k`, `4.1M`.
    public static func count(_ n: Int) -> String {
        let a = n.magnitude
        if a < 10_000 { return String(n) }
        if a < 1_000_000 { return fixed(Double(n) / 1000, a < 100_000 ? 1 : 0) + "k" }
        return fixed(Double(n) / 1_000_000, a < 100_000_000 ? 1 : 0) + "M"
    }

    /// Milliseconds as `0.4ms`, `182ms`, `1.24s`, `3m05s`.
    public static func ms(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "-" }
        let a = abs(v)
        if a < 10 { return fixed(v, 1) + "ms" }
        if a < 1000 { return String(Int(v.rounded())) + "ms" }
        if a < 60_000 { return fixed(v / 1000, a < 10_000 ? 2 : 1) + "s" }
        // Past 30,000 years only a log's nonsense gets here (`"init_ms":1e300`): hours, as a number.
        guard a < 1e15 else { return fixed(v / 3_600_000, 0) + "h" }
        let s = Int((v / 1000).rounded())
        if s < 3600 { return "\(s / 60)m" + pad2(s % 60) + "s" }
        return "\(s / 3600)h" + pad2((s % 3600) / 60) + "m"
    }

    /// `GET /api/feed`: the method only when the route does not already start with it.
    ///
    /// Routes are often logged with their method (`"route":"GET /api/feed","method":"GET"`); the
    /// text trace printer follows the same rule. Empty when there is neither.
    public static func request(method: String?, route: String?) -> String {
        guard let m = method, !m.isEmpty else { return route ?? "" }
        guard let r = route, !r.isEmpty else { return m }
        return r.hasPrefix(m + " ") ? r : m + " " + r
    }

    /// A bucket width: `1s`, `500ms`, `1m`.
    public static func bucket(_ ms: Double) -> String {
        if ms >= 60_000, ms.truncatingRemainder(dividingBy: 60_000) == 0 { return "\(Int(ms / 60_000))m" }
        if ms >= 1000, ms.truncatingRemainder(dividingBy: 1000) == 0 { return "\(Int(ms / 1000))s" }
        return Format.ms(ms)
    }

    /// An age in whole units: `12s`, `4m`, `2h`, `3d`.
    public static func age(ms v: Double) -> String {
        let s = Int(min(max(0, v), 1e15) / 1000)
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" }
        if s < 86_400 { return "\(s / 3600)h" }
        return "\(s / 86_400)d"
    }

    /// Bytes as `512B`, `48.2MB`, `1.3GB`.
    public static func bytes(_ n: Int) -> String {
        let d = Double(n)
        if n < 1024 { return "\(n)B" }
        if n < 1024 * 1024 { return fixed(d / 1024, 1) + "KB" }
        if n < 1024 * 1024 * 1024 { return fixed(d / 1_048_576, 1) + "MB" }
        return fixed(d / 1_073_741_824, 2) + "GB"
    }

    /// A rate: `0.4/s`, `12/s`, `3.1k/s`.
    public static func rate(_ v: Double, unit: String = "/s") -> String {
        guard v.isFinite else { return "-" }
        if v < 10 { return fixed(v, 1) + unit }
        if v < 10_000 { return fixed(v, 0) + unit }
        return fixed(v / 1000, 1) + "k" + unit
    }

    /// `92%`.
    public static func percent(_ ratio: Double) -> String {
        guard ratio.isFinite else { return "-" }
        return fixed(ratio * 100, 0) + "%"
    }

    /// A speed factor: `0.1×`, `10×`, `1000×`.
    public static func speed(_ v: Double, times: String = "×") -> String {
        if v < 1 { return fixed(v, v < 0.25 ? 1 : 2).replacingTrailingZeros() + times }
        if v == v.rounded() { return String(Int(v)) + times }
        return fixed(v, 1) + times
    }

    private static let statusTexts: [String] = (0..<600).map { String($0) }

    /// An HTTP status as text, without allocating for the usual range.
    public static func status(_ s: Int) -> String {
        s >= 0 && s < statusTexts.count ? statusTexts[s] : String(s)
    }

    /// The first 8 characters of an id: enough to tell traces apart on screen.
    public static func shortID(_ id: String, length: Int = 8) -> String {
        id.count <= length ? id : String(id.prefix(length))
    }

    /// `v` with `digits` fraction digits, rounded half away from zero.
    public static func fixed(_ v: Double, _ digits: Int) -> String {
        guard v.isFinite else { return "-" }
        // Beyond what a column shows digit by digit (and what `Int` holds): Swift's own notation.
        guard abs(v) < 1e15 else { return v.description }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(v) * scale).rounded()
        let whole = Int(scaled / scale)
        var frac = Int(scaled) - whole * Int(scale)
        var s = (v < 0 && scaled > 0 ? "-" : "") + String(whole)
        if digits > 0 {
            var digitsText = ""
            for _ in 0..<digits { digitsText = String(frac % 10) + digitsText; frac /= 10 }
            s += "." + digitsText
        }
        return s
    }

    static func pad2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}

extension String {
    /// `0.50` → `0.5`, `1.00` → `1`.
    func replacingTrailingZeros() -> String {
        guard contains(".") else { return self }
        var s = self
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
}
