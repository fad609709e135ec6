/// One command-line input: stdin, a file, a directory or a glob.
public enum InputSpec: Hashable, Sendable, CustomStringConvertible {
    case stdin
    /// A file, which need not exist yet when followed.
    case file(String)
    /// Every regular file inside, recursively, sorted; hidden entries skipped.
    case directory(String)
    /// A `glob(3)` pattern such as `logs/*.ndjson`.
    case glob(String)

    /// `-` is stdin; an existing directory is a directory and an existing file a file (so a name
    /// with brackets, like a Lambda stream's `[$LATEST]`, is taken literally); otherwise a pattern
    /// with `*`, `?` or `[` is a glob; anything else is a file that may appear later.
    public init(argument: String) {
        if argument == "-" {
            self = .stdin
        } else if let id = FileIdentity.of(path: argument) {
            self = id.isDirectory ? .directory(argument) : .file(argument)
        } else if argument.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) {
            self = .glob(argument)
        } else {
            self = .file(argument)
        }
    }

    public var description: String {
        switch self {
        case .stdin: "-"
        case .file(let p), .directory(let p), .glob(let p): p
        }
    }

    /// Directories deeper than this are not entered (a symlink loop must not hang a scan).
    static let maxDepth = 16

    /// Regular files this input names now, sorted. A `.file` is returned whether or not it exists.
    public func paths() -> [String] {
        switch self {
        case .stdin:
            return []
        case .file(let p):
            return [p]
        case .directory(let d):
            var out: [String] = []
            InputSpec.collect(directory: d, depth: 0, into: &out)
            return out.sorted()
        case .glob(let pattern):
            return POSIX.expandGlob(pattern).filter { FileIdentity.of(path: $0)?.isRegular == true }
        }
    }

    private static func collect(directory: String, depth: Int, into out: inout [String]) {
        guard depth < maxDepth, let names = POSIX.entries(of: directory) else { return }
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        for name in names where !name.hasPrefix(".") {
            let path = prefix + name
            guard let id = FileIdentity.of(path: path) else { continue }
            if id.isRegular {
                out.append(path)
            } else if id.isDirectory {
                collect(directory: path, depth: depth + 1, into: &out)
            }
        }
    }
}
