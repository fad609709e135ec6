import SkeinCore

/// What a piece of text means; the backend maps roles to colours once (STYLE.md habit 7).
///
/// Widgets never name colours, so `NO_COLOR` and monochrome terminals work without special cases.
public enum Role: UInt8, Sendable, CaseIterable, Hashable {
    case normal, dim, title, border, focus, selected, header, key
    case ok, warning, error, critical
    case coldStart, db, edge, serverless, server, accent
}

/// A cell's look: a role plus the attributes that survive on a monochrome terminal.
public struct Style: Sendable, Hashable {
    public var role: Role
    public var bold: Bool
    public var reverse: Bool

    public init(_ role: Role = .normal, bold: Bool = false, reverse: Bool = false) {
        self.role = role; self.bold = bold; self.reverse = reverse
    }

    public static let normal = Style()
    public static func role(_ r: Role) -> Style { Style(r) }
}

/// One character cell of the screen.
public struct Cell: Sendable, Equatable {
    /// The grapheme shown; for the right half of a double-width character this is a space and
    /// `isContinuation` is set, so text output and backends skip it.
    public var character: Character
    public var style: Style
    public var isContinuation: Bool

    public init(_ character: Character = " ", style: Style = .normal, isContinuation: Bool = false) {
        self.character = character; self.style = style; self.isContinuation = isContinuation
    }

    public var role: Role { style.role }
    public var bold: Bool { style.bold }
    public var reverse: Bool { style.reverse }
}

/// A rectangle on the screen, in cells.
public struct Rect: Sendable, Equatable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = max(0, width); self.height = max(0, height)
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }

    /// The rectangle shrunk by `margin` on every side.
    public func inset(_ margin: Int) -> Rect {
        Rect(x: x + margin, y: y + margin, width: width - 2 * margin, height: height - 2 * margin)
    }

    public func intersection(_ o: Rect) -> Rect {
        let nx = max(x, o.x), ny = max(y, o.y)
        return Rect(x: nx, y: ny, width: min(maxX, o.maxX) - nx, height: min(maxY, o.maxY) - ny)
    }

    /// Splits off the top `rows` rows: (top, rest).
    public func splitTop(_ rows: Int) -> (Rect, Rect) {
        let r = min(max(0, rows), height)
        return (Rect(x: x, y: y, width: width, height: r), Rect(x: x, y: y + r, width: width, height: height - r))
    }

    /// Splits off the left `cols` columns: (left, rest).
    public func splitLeft(_ cols: Int) -> (Rect, Rect) {
        let c = min(max(0, cols), width)
        return (Rect(x: x, y: y, width: c, height: height), Rect(x: x + c, y: y, width: width - c, height: height))
    }

    /// Divides the height among `weights`, giving rounding leftovers to the last part.
    public func rows(_ weights: [Int]) -> [Rect] {
        let total = max(1, weights.reduce(0, +))
        var out: [Rect] = []
        var cy = y
        for (i, w) in weights.enumerated() {
            let h = i == weights.count - 1 ? maxY - cy : height * w / total
            out.append(Rect(x: x, y: cy, width: width, height: h))
            cy += h
        }
        return out
    }

    /// Divides the width among `weights`, giving rounding leftovers to the last part.
    public func columns(_ weights: [Int]) -> [Rect] {
        let total = max(1, weights.reduce(0, +))
        var out: [Rect] = []
        var cx = x
        for (i, w) in weights.enumerated() {
            let wd = i == weights.count - 1 ? maxX - cx : width * w / total
            out.append(Rect(x: cx, y: y, width: wd, height: height))
            cx += wd
        }
        return out
    }
}

/// A run of text in one style.
public struct Span: Sendable, Equatable {
    public var text: String
    public var style: Style
    public init(_ text: String, _ style: Style = .normal) { self.text = text; self.style = style }
    public init(_ text: String, role: Role) { self.text = text; self.style = Style(role) }
}

/// Terminal column widths of characters, without Foundation or libc's locale-dependent `wcwidth`.
public enum TextWidth {
    /// Columns a grapheme occupies: 2 for East Asian wide/fullwidth and emoji, else 1.
    @inlinable
    public static func of(_ c: Character) -> Int {
        guard let first = c.unicodeScalars.first else { return 0 }
        let v = first.value
        if v < 0x1100 { return 1 }
        return isWide(v) || c.unicodeScalars.contains(where: { $0.value == 0xFE0F }) ? 2 : 1
    }

    public static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0, 0x23F3,
             0x25FD...0x25FE, 0x2614...0x2615, 0x2648...0x2653, 0x267F, 0x2693, 0x26A1, 0x26AA...0x26AB,
             0x26BD...0x26BE, 0x26C4...0x26C5, 0x26CE, 0x26D4, 0x26EA, 0x26F2...0x26F3, 0x26F5, 0x26FA,
             0x26FD, 0x2705, 0x270A...0x270B, 0x2728, 0x274C, 0x274E, 0x2753...0x2755, 0x2757,
             0x2795...0x2797, 0x27B0, 0x27BF, 0x2B1B...0x2B1C, 0x2B50, 0x2B55,
             0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
             0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F,
             0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FE4, 0x17000...0x18AFF, 0x1B000...0x1B2FF,
             0x1F004, 0x1F0CF, 0x1F18E, 0x1F191...0x1F19A, 0x1F200...0x1F251, 0x1F300...0x1F64F,
             0x1F680...0x1F6FF, 0x1F7E0...0x1F7EB, 0x1F90C...0x1F9FF, 0x1FA70...0x1FAFF,
             0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    /// Columns a string occupies.
    public static func of(_ s: String) -> Int {
        var n = 0
        for c in s { n += of(c) }
        return n
    }

    /// The longest prefix of `s` that fits in `width` columns, with `ellipsis` when cut.
    public static func truncate(_ s: String, to width: Int, ellipsis: String = "…") -> String {
        if width <= 0 { return "" }
        var cols = 0
        var fits = true
        for c in s {
            cols += of(c)
            if cols > width { fits = false; break }
        }
        if fits { return s }
        let ew = of(ellipsis)
        let room = max(0, width - ew)
        var out = ""
        cols = 0
        for c in s {
            let w = of(c)
            if cols + w > room { break }
            out.append(c)
            cols += w
        }
        return ew <= width ? out + ellipsis : out
    }

    /// The longest suffix of `s` that fits in `width` columns.
    public static func tail(_ s: String, width: Int) -> String {
        var cols = 0
        var start = s.endIndex
        while start > s.startIndex {
            let prev = s.index(before: start)
            let w = of(s[prev])
            if cols + w > width { break }
            cols += w
            start = prev
        }
        return String(s[start...])
    }

    /// `s` padded with spaces (or cut) to exactly `width` columns.
    public static func pad(_ s: String, to width: Int, alignRight: Bool = false, ellipsis: String = "…") -> String {
        let t = truncate(s, to: width, ellipsis: ellipsis)
        let w = of(t)
        if w >= width { return t }
        let fill = String(repeating: " ", count: width - w)
        return alignRight ? fill + t : t + fill
    }
}

/// A grid of cells that widgets draw into (ratatui's `Buffer`); backends copy it to a terminal.
///
/// Every write is clipped to the grid and to the area a widget was given, and every string passes
/// through `Sanitizer.clean`, so log text can never move the cursor or change the terminal.
public struct ScreenBuffer: Sendable, Equatable {
    public private(set) var width: Int
    public private(set) var height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int, fill: Character = " ") {
        self.width = max(0, width); self.height = max(0, height)
        cells = Array(repeating: Cell(fill), count: self.width * self.height)
    }

    public var area: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        get {
            guard x >= 0, y >= 0, x < width, y < height else { return Cell() }
            return cells[y * width + x]
        }
        set {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            cells[y * width + x] = newValue
        }
    }

    /// Fills the whole grid (or `rect`) with one character and style.
    public mutating func fill(_ rect: Rect? = nil, with character: Character = " ", style: Style = .normal) {
        let r = (rect ?? area).intersection(area)
        guard !r.isEmpty else { return }
        let cell = Cell(character, style: style)
        for y in r.y..<r.maxY {
            let base = y * width
            for x in r.x..<r.maxX { cells[base + x] = cell }
        }
        // A wide character cut in half by the fill loses its other half too.
        for y in r.y..<r.maxY {
            repairLeft(x: r.x, y: y)
            repairRight(x: r.maxX, y: y)
        }
    }

    /// Changes the style of every cell in `rect`, keeping the characters (selection highlight).
    public mutating func setStyle(_ rect: Rect, _ style: Style) {
        let r = rect.intersection(area)
        guard !r.isEmpty else { return }
        for y in r.y..<r.maxY {
            for x in r.x..<r.maxX { cells[y * width + x].style = style }
        }
    }

    /// Writes one grapheme at (x, y) if it fits before `limit` (exclusive x bound); returns columns used.
    @discardableResult
    public mutating func put(_ c: Character, x: Int, y: Int, style: Style, limit: Int? = nil) -> Int {
        let maxX = min(limit ?? width, width)
        guard y >= 0, y < height, x >= 0, x < maxX else { return 0 }
        let w = TextWidth.of(c)
        if w == 2 {
            guard x + 1 < maxX else {
                // A wide character that would straddle the edge becomes a space, never half a glyph.
                setCell(x: x, y: y, Cell(" ", style: style))
                return 1
            }
            setCell(x: x, y: y, Cell(c, style: style))
            setCell(x: x + 1, y: y, Cell(" ", style: style, isContinuation: true))
            return 2
        }
        setCell(x: x, y: y, Cell(c, style: style))
        return 1
    }

    /// Writes text from (x, y), clipped at `maxWidth` columns and the grid; returns columns used.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style = .normal, maxWidth: Int? = nil) -> Int {
        guard y >= 0, y < height else { return 0 }
        let limit = min(width, maxWidth.map { x + max(0, $0) } ?? width)
        var cx = x
        for c in Sanitizer.clean(text) {
            if cx >= limit { break }
            if cx < 0 { cx += TextWidth.of(c); continue }
            let used = put(c, x: cx, y: y, style: style, limit: limit)
            if used == 0 { break }
            cx += used
        }
        return max(0, cx - x)
    }

    /// Writes spans one after another; returns columns used.
    @discardableResult
    public mutating func put(_ spans: [Span], x: Int, y: Int, maxWidth: Int? = nil) -> Int {
        var used = 0
        let total = maxWidth ?? (width - x)
        for s in spans {
            if used >= total { break }
            used += put(s.text, x: x + used, y: y, style: s.style, maxWidth: total - used)
        }
        return used
    }

    /// The grid as lines of text (continuation cells skipped), for tests and `--snapshot`.
    public func text() -> String {
        lines().joined(separator: "\n")
    }

    public func lines() -> [String] {
        var out: [String] = []
        out.reserveCapacity(height)
        for y in 0..<height {
            var line = ""
            line.reserveCapacity(width)
            for x in 0..<width {
                let c = cells[y * width + x]
                if !c.isContinuation { line.append(c.character) }
            }
            out.append(line)
        }
        return out
    }

    /// The roles of one row as letters, so tests can check colouring as text.
    public func roles(row y: Int, legend: (Role) -> Character) -> String {
        guard y >= 0, y < height else { return "" }
        var s = ""
        for x in 0..<width { s.append(legend(cells[y * width + x].style.role)) }
        return s
    }

    /// Resizes and clears the grid.
    public mutating func resize(width: Int, height: Int) {
        self = ScreenBuffer(width: width, height: height)
    }

    private mutating func setCell(x: Int, y: Int, _ cell: Cell) {
        let i = y * width + x
        let old = cells[i]
        cells[i] = cell
        // Overwriting either half of a wide character blanks its other half.
        if old.isContinuation && !cell.isContinuation && x > 0 {
            let l = i - 1
            if TextWidth.of(cells[l].character) == 2 { cells[l] = Cell(" ", style: cells[l].style) }
        } else if !old.isContinuation && TextWidth.of(old.character) == 2 && x + 1 < width {
            if cells[i + 1].isContinuation { cells[i + 1] = Cell(" ", style: cells[i + 1].style) }
        }
    }

    private mutating func repairLeft(x: Int, y: Int) {
        guard x > 0, x < width else { return }
        let i = y * width + x
        if !cells[i].isContinuation, TextWidth.of(cells[i - 1].character) == 2 {
            cells[i - 1] = Cell(" ", style: cells[i - 1].style)
        }
    }

    private mutating func repairRight(x: Int, y: Int) {
        guard x > 0, x < width else { return }
        let i = y * width + x
        if cells[i].isContinuation { cells[i] = Cell(" ", style: cells[i].style) }
    }
}
