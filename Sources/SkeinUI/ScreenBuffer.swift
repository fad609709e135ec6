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

/// One character cell of the screen: plain data, so clearing and copying a grid is cheap.
public struct Cell: Sendable, Equatable {
    /// A Unicode scalar, or (at and above `Cell.clusterBase`) an index into the buffer's table of
    /// multi-scalar graphemes (combining marks, emoji sequences). Read it with `ScreenBuffer.character(x:y:)`.
    public var code: UInt32
    public var style: Style
    /// The right half of a double-width character: text output and backends skip it.
    public var isContinuation: Bool

    public static let clusterBase: UInt32 = 0x11_0000

    public init(_ scalar: Unicode.Scalar = " ", style: Style = .normal, isContinuation: Bool = false) {
        code = scalar.value; self.style = style; self.isContinuation = isContinuation
    }

    init(code: UInt32, style: Style, isContinuation: Bool = false) {
        self.code = code; self.style = style; self.isContinuation = isContinuation
    }

    public var role: Role { style.role }
    public var bold: Bool { style.bold }
    public var reverse: Bool { style.reverse }
    /// The scalar shown, when the cell holds a single scalar.
    public var scalar: Unicode.Scalar? { code < Cell.clusterBase ? Unicode.Scalar(code) : nil }
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
    /// Columns a grapheme occupies: its first scalar's width (as `wcwidth` and terminals count).
    public static func of(_ c: Character) -> Int {
        guard let first = c.unicodeScalars.first else { return 0 }
        return of(first)
    }

    /// 2 for East Asian wide/fullwidth and emoji, else 1 (marks that join a grapheme count 0).
    @inline(__always)
    public static func of(_ u: Unicode.Scalar) -> Int {
        let v = u.value
        if v < 0x300 { return 1 }
        if joinsPrevious(v) { return 0 }
        return v >= 0x1100 && isWide(v) ? 2 : 1
    }

    /// Scalars that attach to the previous one: combining marks, joiners, variation selectors,
    /// emoji modifiers and tags. A grapheme approximation without the full segmentation rules.
    public static func joinsPrevious(_ v: UInt32) -> Bool {
        switch v {
        case 0x300...0x36F, 0x483...0x489, 0x591...0x5BD, 0x610...0x61A, 0x64B...0x65F, 0x1AB0...0x1AFF,
             0x1DC0...0x1DFF, 0x200C...0x200D, 0x20D0...0x20FF, 0xFE00...0xFE0F, 0xFE20...0xFE2F,
             0x1F3FB...0x1F3FF, 0xE0020...0xE007F, 0xE0100...0xE01EF:
            return true
        default:
            return false
        }
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
        var ascii = true
        for b in s.utf8 where b >= 0x80 { ascii = false; break }
        if ascii { return s.utf8.count }
        for u in s.unicodeScalars { n += of(u) }
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
    /// Graphemes of more than one scalar, referenced by `Cell.code - Cell.clusterBase`.
    private var clusters: [String] = []

    public init(width: Int, height: Int, fill: Unicode.Scalar = " ") {
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

    /// The grapheme a cell shows.
    public func character(x: Int, y: Int) -> Character {
        character(of: self[x, y])
    }

    public func character(of cell: Cell) -> Character {
        if cell.code < Cell.clusterBase { return Character(Unicode.Scalar(cell.code) ?? " ") }
        let i = Int(cell.code - Cell.clusterBase)
        return i < clusters.count ? Character(clusters[i]) : " "
    }

    /// The scalars of a cell's grapheme, for backends.
    public func scalars(of cell: Cell) -> [Unicode.Scalar] {
        if cell.code < Cell.clusterBase { return [Unicode.Scalar(cell.code) ?? " "] }
        let i = Int(cell.code - Cell.clusterBase)
        return i < clusters.count ? Array(clusters[i].unicodeScalars) : [" "]
    }

    /// Whether a cell looks the same here and in `other` (graphemes compared by content).
    public func sameCell(_ i: Int, as other: ScreenBuffer) -> Bool {
        let a = cells[i], b = other.cells[i]
        guard a == b else {
            return a.code >= Cell.clusterBase && b.code >= Cell.clusterBase && a.style == b.style
                && a.isContinuation == b.isContinuation && character(of: a) == other.character(of: b)
        }
        return a.code < Cell.clusterBase || character(of: a) == other.character(of: b)
    }

    /// Fills the whole grid (or `rect`) with one character and style.
    public mutating func fill(_ rect: Rect? = nil, with scalar: Unicode.Scalar = " ", style: Style = .normal) {
        let r = (rect ?? area).intersection(area)
        guard !r.isEmpty else { return }
        let cell = Cell(scalar, style: style)
        if r == area {
            clusters.removeAll(keepingCapacity: true)
            cells.withUnsafeMutableBufferPointer { p in
                for i in p.indices { p[i] = cell }
            }
            return
        }
        cells.withUnsafeMutableBufferPointer { p in
            for y in r.y..<r.maxY {
                let base = y * width
                for x in r.x..<r.maxX { p[base + x] = cell }
            }
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
        let scalars = c.unicodeScalars
        if scalars.count == 1, let u = scalars.first {
            return put(scalar: u, x: x, y: y, style: style, limit: limit)
        }
        let w = TextWidth.of(c)
        guard let code = cluster(String(c)) else { return 0 }
        return put(code: code, width: w, x: x, y: y, style: style, limit: limit ?? width)
    }

    /// Writes one scalar at (x, y); returns columns used.
    @discardableResult
    public mutating func put(scalar u: Unicode.Scalar, x: Int, y: Int, style: Style, limit: Int? = nil) -> Int {
        put(code: u.value, width: TextWidth.of(u) == 2 ? 2 : 1, x: x, y: y, style: style, limit: limit ?? width)
    }

    /// Writes text from (x, y), clipped at `maxWidth` columns and the grid; returns columns used.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style = .normal, maxWidth: Int? = nil) -> Int {
        guard y >= 0, y < height else { return 0 }
        let limit = min(width, maxWidth.map { x + max(0, $0) } ?? width)
        guard x < limit else { return 0 }
        // Pure printable ASCII (the common case) needs neither sanitising nor grapheme handling.
        var plain = true
        for b in text.utf8 where b < 0x20 || b >= 0x7f { plain = false; break }
        if plain {
            var cx = x
            let row = y * width
            for b in text.utf8 {
                if cx >= limit { break }
                if cx >= 0 { setCell(row + cx, x: cx, Cell(code: UInt32(b), style: style)) }
                cx += 1
            }
            return max(0, min(cx, limit) - x)
        }
        let clean = Sanitizer.clean(text)
        var cx = x
        var lastX: Int? = nil
        var joinNext = false
        for u in clean.unicodeScalars {
            let v = u.value
            if joinNext || TextWidth.joinsPrevious(v) {
                // Marks and joined scalars extend the previous cell's grapheme.
                joinNext = v == 0x200D
                if let lx = lastX { appendToCell(x: lx, y: y, u) }
                continue
            }
            if cx >= limit { break }
            if cx < 0 { cx += TextWidth.of(u); continue }
            let used = put(code: v, width: TextWidth.of(u) == 2 ? 2 : 1, x: cx, y: y, style: style, limit: limit)
            if used == 0 { break }
            lastX = cx
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
            var line = String.UnicodeScalarView()
            for x in 0..<width {
                let c = cells[y * width + x]
                if c.isContinuation { continue }
                if c.code < Cell.clusterBase, let u = Unicode.Scalar(c.code) {
                    line.append(u)
                } else {
                    line.append(contentsOf: scalars(of: c))
                }
            }
            out.append(String(line))
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

    private mutating func cluster(_ s: String) -> UInt32? {
        guard clusters.count < 1 << 20 else { return nil }
        clusters.append(s)
        return Cell.clusterBase + UInt32(clusters.count - 1)
    }

    private mutating func appendToCell(x: Int, y: Int, _ u: Unicode.Scalar) {
        let i = y * width + x
        var s = String(character(of: cells[i]))
        s.unicodeScalars.append(u)
        if let code = cluster(s) { cells[i].code = code }
    }

    private mutating func put(code: UInt32, width w: Int, x: Int, y: Int, style: Style, limit: Int) -> Int {
        let maxX = min(limit, width)
        guard y >= 0, y < height, x >= 0, x < maxX else { return 0 }
        let i = y * width + x
        if w == 2 {
            guard x + 1 < maxX else {
                // A wide character that would straddle the edge becomes a space, never half a glyph.
                setCell(i, x: x, Cell(" ", style: style))
                return 1
            }
            setCell(i, x: x, Cell(code: code, style: style))
            setCell(i + 1, x: x + 1, Cell(" ", style: style, isContinuation: true))
            return 2
        }
        setCell(i, x: x, Cell(code: code, style: style))
        return 1
    }

    private func isWideAt(_ i: Int) -> Bool {
        // A wide character is always followed by its continuation cell.
        i + 1 < cells.count && cells[i + 1].isContinuation && (i + 1) % width != 0
    }

    @inline(__always)
    private mutating func setCell(_ i: Int, x: Int, _ cell: Cell) {
        let old = cells[i]
        cells[i] = cell
        // Overwriting either half of a wide character blanks its other half.
        if old.isContinuation && !cell.isContinuation && x > 0 {
            cells[i - 1] = Cell(" ", style: cells[i - 1].style)
        } else if !old.isContinuation && x + 1 < width && cells[i + 1].isContinuation {
            cells[i + 1] = Cell(" ", style: cells[i + 1].style)
        }
    }

    private mutating func repairLeft(x: Int, y: Int) {
        guard x > 0, x < width else { return }
        let i = y * width + x
        if !cells[i].isContinuation, cells[i - 1].isContinuation == false, isWideAt(i - 1) == false,
           TextWidth.of(character(of: cells[i - 1])) == 2 {
            cells[i - 1] = Cell(" ", style: cells[i - 1].style)
        }
    }

    private mutating func repairRight(x: Int, y: Int) {
        guard x > 0, x < width else { return }
        let i = y * width + x
        if cells[i].isContinuation { cells[i] = Cell(" ", style: cells[i].style) }
    }
}
