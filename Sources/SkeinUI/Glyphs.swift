import SkeinCore
import SkeinEngine

/// The characters the widgets draw with: Unicode box drawing and blocks, or a plain-ASCII set for
/// terminals whose locale is not UTF-8.
public struct Glyphs: Sendable, Equatable {
    public var topLeft: Character
    public var topRight: Character
    public var bottomLeft: Character
    public var bottomRight: Character
    public var horizontal: Character
    public var vertical: Character
    public var teeLeft: Character
    public var teeRight: Character
    /// Sparkline levels, lowest first; index 0 is drawn for a zero value.
    public var sparkLevels: [Character]
    public var gaugeFull: Character
    public var gaugeEmpty: Character
    /// Waterfall segments.
    public var barRun: Character
    public var barCold: Character
    public var barDBWait: Character
    public var barAfterResponse: Character
    public var criticalMark: Character
    public var ellipsis: String
    /// Between hops of a path: `edge-api › λ feed-api`.
    public var pathSeparator: String
    public var edge: String
    public var serverless: String
    public var server: String
    public var unknownDeploy: String
    public var positionMarker: Character
    public var arrowUp: String
    public var arrowDown: String
    public var middot: String
    public var times: String

    public static let unicode = Glyphs(
        topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘", horizontal: "─", vertical: "│",
        teeLeft: "├", teeRight: "┤",
        sparkLevels: [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"],
        gaugeFull: "█", gaugeEmpty: "░",
        barRun: "█", barCold: "░", barDBWait: "▒", barAfterResponse: "┄", criticalMark: "●",
        ellipsis: "…", pathSeparator: " › ",
        edge: "◆", serverless: "λ", server: "■", unknownDeploy: "·",
        positionMarker: "●", arrowUp: "↑", arrowDown: "↓", middot: "·", times: "×")

    public static let ascii = Glyphs(
        topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+", horizontal: "-", vertical: "|",
        teeLeft: "+", teeRight: "+",
        sparkLevels: [" ", ".", ".", ":", "-", "=", "+", "*", "#"],
        gaugeFull: "#", gaugeEmpty: ".",
        barRun: "=", barCold: "c", barDBWait: "w", barAfterResponse: "~", criticalMark: "*",
        ellipsis: "~", pathSeparator: " > ",
        edge: "E", serverless: "L", server: "S", unknownDeploy: "?",
        positionMarker: "o", arrowUp: "^", arrowDown: "v", middot: "-", times: "x")

    /// The glyph for a deploy model: `◆` edge, `λ` serverless, `■` server.
    public func deploy(_ d: DeployModel?) -> String {
        switch d {
        case .edge: edge
        case .serverless: serverless
        case .server: server
        case nil: unknownDeploy
        }
    }
}

extension Role {
    /// The role that colours a deploy model's glyph.
    public static func deploy(_ d: DeployModel?) -> Role {
        switch d {
        case .edge: .edge
        case .serverless: .serverless
        case .server: .server
        case nil: .dim
        }
    }

    /// 70/80/90 % thresholds: fine, watch it, trouble, about to fail.
    public static func utilisation(_ ratio: Double) -> Role {
        if ratio >= 0.9 { return .critical }
        if ratio >= 0.8 { return .error }
        if ratio >= 0.7 { return .warning }
        return .ok
    }

    public static func state(_ s: InstanceState) -> Role {
        switch s {
        case .cold: .coldStart
        case .busy: .accent
        case .idle: .ok
        case .gone: .dim
        }
    }

    public static func level(_ l: Level) -> Role {
        switch l {
        case .trace, .debug: .dim
        case .info: .normal
        case .warn: .warning
        case .error: .error
        case .fatal: .critical
        }
    }

    public static func severity(_ s: Insight.Severity) -> Role {
        switch s {
        case .info: .accent
        case .warning: .warning
        case .critical: .critical
        }
    }

    public static func status(_ status: Int?) -> Role {
        guard let s = status else { return .dim }
        if s >= 500 { return .error }
        if s >= 400 { return .warning }
        return .ok
    }
}
