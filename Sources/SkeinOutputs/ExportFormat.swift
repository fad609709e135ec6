import SkeinEngine

/// The formats `skein export` writes, so that the command only picks one and hands over a sink.
public enum ExportFormat: String, Sendable, CaseIterable {
    case json, csv, markdown

    /// `json`, `csv`, `md` or `markdown`, in any case.
    public init?(name: some StringProtocol) {
        switch name.lowercased() {
        case "json": self = .json
        case "csv": self = .csv
        case "md", "markdown": self = .markdown
        default: return nil
        }
    }

    /// The format an output path's extension names (`report.md`), or nil when it names none.
    public init?(path: String) {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        self.init(name: path[path.index(after: dot)...])
    }

    /// Writes `snapshot` in this format. `pretty` indents JSON; the other formats ignore it.
    public func write(_ snapshot: Snapshot, to sink: ByteSink, pretty: Bool = false) throws {
        switch self {
        case .json: try JSONExporter(pretty: pretty).write(snapshot, to: sink)
        case .csv: try CSVExporter().write(snapshot, to: sink)
        case .markdown: try MarkdownExporter().write(snapshot, to: sink)
        }
    }
}
