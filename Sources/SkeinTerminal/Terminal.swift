import CNCurses
import SkeinUI
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the terminal should look; the defaults read the environment and the terminal.
public struct TerminalOptions: Sendable {
    /// Force plain ASCII glyphs even on a UTF-8 locale.
    public var asciiOnly: Bool = false
    /// Force monochrome (bold/reverse only). `NO_COLOR` in the environment does the same.
    public var monochrome: Bool = false
    /// Frames per second at most.
    public var maxFPS: Double = 30
    /// How long to block waiting for a key when nothing is happening (near-zero CPU when idle).
    public var idleTimeoutMS: Int32 = 100
    /// Upper bound for one `pump` call, so keys are served quickly while data pours in.
    public var pumpBudgetSeconds: Double = 0.008
    public init() {}
}

/// Why the terminal could not start.
public enum TerminalError: Error, CustomStringConvertible {
    case notATerminal
    case initFailed

    public var description: String {
        switch self {
        case .notATerminal: "standard input/output is not a terminal (use --no-tui)"
        case .initFailed: "could not initialise the terminal (is TERM set?)"
        }
    }
}

/// The ncurses boundary: owns the screen, maps roles to colours, copies a `ScreenBuffer` to the
/// terminal (only rows that changed) and decodes keys. Not thread-safe: one thread owns it.
public final class TerminalScreen {
    public private(set) var width: Int
    public private(set) var height: Int
    /// Whether the locale can show Unicode (else draw with `Glyphs.ascii`).
    public let unicode: Bool
    public let colours: ColourMode
    private var previous: ScreenBuffer?
    private var active = false
    private var attrs: [attr_t] = []
    private var pairs: [Int16] = []

    /// How roles become colours on this terminal.
    public enum ColourMode: Sendable { case monochrome, colours8, colours256 }

    /// Sets the locale, starts ncurses (cbreak, noecho, keypad, hidden cursor), installs the
    /// signal handlers that restore the terminal, and sets up colour pairs for every role.
    public init(options: TerminalOptions = TerminalOptions()) throws {
        guard isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0 else { throw TerminalError.notATerminal }
        setlocale(LC_ALL, "")
        unicode = !options.asciiOnly && skein_locale_is_utf8() != 0
        // Handlers first: ncurses then leaves SIGINT/SIGTERM to us, and every path runs endwin.
        TerminalSignals.install()
        // newterm rather than initscr: initscr exits the process when TERM is unusable.
        guard let output = fdopen(STDOUT_FILENO, "w"), let input = fdopen(STDIN_FILENO, "r"),
              let screen = newterm(nil, output, input) else { throw TerminalError.initFailed }
        set_term(screen)
        TerminalSignals.screenActive(true)
        active = true
        cbreak()
        noecho()
        nonl()
        let win = skein_stdscr()
        keypad(win, true)
        intrflush(win, false)
        set_escdelay(25)
        curs_set(0)
        width = Int(skein_cols())
        height = Int(skein_lines())
        let noColor = getenv("NO_COLOR").map { $0.pointee != 0 } ?? false
        if options.monochrome || noColor || !has_colors() {
            colours = .monochrome
        } else {
            start_color()
            use_default_colors()
            colours = skein_colors() >= 256 ? .colours256 : .colours8
        }
        setUpRoles()
    }

    deinit { stop() }

    /// Restores the terminal. Safe to call twice; also runs from the signal and exit paths.
    public func stop() {
        guard active else { return }
        active = false
        TerminalSignals.screenActive(false)
        endwin()
    }

    /// Waits up to `timeoutMS` for a key (0 = just look), then takes whatever else is queued.
    public func readKeys(timeoutMS: Int32) -> [Key] {
        let win = skein_stdscr()
        var out: [Key] = []
        wtimeout(win, max(0, timeoutMS))
        while true {
            var ch: wint_t = 0
            let rc = wget_wch(win, &ch)
            if rc == skein_err() { break }
            if let key = decode(rc: rc, ch: ch) {
                if key == .resize { refreshSize() }
                out.append(key)
            }
            wtimeout(win, 0)
            if out.count >= 64 { break }
        }
        return out
    }

    /// Copies the buffer to the terminal: rows that changed since the last frame, in style runs.
    public func draw(_ buffer: ScreenBuffer) {
        let win = skein_stdscr()
        let full = previous == nil || previous!.width != buffer.width || previous!.height != buffer.height
        if full { werase(win) }
        for y in 0..<min(buffer.height, height) {
            var first = 0, last = buffer.width - 1
            if !full, let prev = previous {
                let row = y * buffer.width
                while first < buffer.width && buffer.sameCell(row + first, as: prev) { first += 1 }
                if first == buffer.width { continue }
                while last > first && buffer.sameCell(row + last, as: prev) { last -= 1 }
                // A wide character's right half changed: repaint from its left half.
                while first > 0 && buffer[first, y].isContinuation { first -= 1 }
            }
            drawRow(buffer, y: y, from: first, to: min(last, width - 1), win: win)
        }
        wnoutrefresh(win)
        doupdate()
        previous = buffer
    }

    /// The terminal size after a resize (ncurses updates LINES/COLS on KEY_RESIZE).
    public func refreshSize() {
        width = Int(skein_cols())
        height = Int(skein_lines())
        previous = nil
    }

    private func drawRow(_ buffer: ScreenBuffer, y: Int, from: Int, to: Int, win: UnsafeMutablePointer<WINDOW>?) {
        guard from <= to else { return }
        var x = from
        var run: [wchar_t] = []
        run.reserveCapacity(to - from + 2)
        while x <= to {
            let style = buffer[x, y].style
            let startX = x
            run.removeAll(keepingCapacity: true)
            while x <= to, buffer[x, y].style == style {
                let c = buffer[x, y]
                if !c.isContinuation {
                    if let u = c.scalar {
                        run.append(wchar_t(bitPattern: u.value))
                    } else {
                        for u in buffer.scalars(of: c) { run.append(wchar_t(bitPattern: u.value)) }
                    }
                }
                x += 1
            }
            let (a, p) = look(style)
            _ = skein_set_attr(win, a, p)
            wmove(win, Int32(y), Int32(startX))
            run.withUnsafeBufferPointer { ptr in
                _ = waddnwstr(win, ptr.baseAddress, Int32(ptr.count))
            }
        }
        _ = skein_set_attr(win, skein_a_normal(), 0)
    }

    private func look(_ style: Style) -> (attr_t, Int16) {
        let i = Int(style.role.rawValue)
        var a = attrs[i]
        if style.bold { a |= skein_a_bold() }
        if style.reverse { a |= skein_a_reverse() }
        return (a, pairs[i])
    }

    /// One colour pair per role (256 or 8 colours), or attributes alone on monochrome.
    private func setUpRoles() {
        attrs = Array(repeating: skein_a_normal(), count: Role.allCases.count)
        pairs = Array(repeating: 0, count: Role.allCases.count)
        for role in Role.allCases {
            let i = Int(role.rawValue)
            let theme = Theme.entry(role)
            switch colours {
            case .monochrome:
                attrs[i] = theme.mono
            case .colours8, .colours256:
                let fg = colours == .colours256 ? theme.fg256 : theme.fg8
                let pair = Int16(i + 1)
                if fg >= 0 && Int32(pair) < skein_color_pairs() {
                    init_pair(pair, fg, -1)
                    pairs[i] = pair
                }
                attrs[i] = theme.colourAttrs
            }
        }
    }

    private func decode(rc: Int32, ch: wint_t) -> Key? {
        if rc == Int32(SKEIN_KEY_CODE_YES) {
            switch Int32(ch) {
            case Int32(SKEIN_KEY_UP): return .up
            case Int32(SKEIN_KEY_DOWN): return .down
            case Int32(SKEIN_KEY_LEFT): return .left
            case Int32(SKEIN_KEY_RIGHT): return .right
            case Int32(SKEIN_KEY_NPAGE): return .pageDown
            case Int32(SKEIN_KEY_PPAGE): return .pageUp
            case Int32(SKEIN_KEY_HOME): return .home
            case Int32(SKEIN_KEY_END): return .end
            case Int32(SKEIN_KEY_BTAB): return .backTab
            case Int32(SKEIN_KEY_ENTER): return .enter
            case Int32(SKEIN_KEY_BACKSPACE), Int32(SKEIN_KEY_DC): return .backspace
            case Int32(SKEIN_KEY_RESIZE): return .resize
            default: return nil
            }
        }
        switch ch {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 3: return .char("q") // ^C when the terminal delivers it as a key
        default:
            guard ch >= 32, let u = Unicode.Scalar(UInt32(ch)) else { return nil }
            return .char(Character(u))
        }
    }
}

/// Roles to colours: 256-colour and 8-colour foregrounds, and attributes for monochrome.
enum Theme {
    struct Entry {
        var fg256: Int16
        var fg8: Int16
        var colourAttrs: attr_t
        var mono: attr_t
    }

    static func entry(_ role: Role) -> Entry {
        let bold = skein_a_bold(), dim = skein_a_dim(), rev = skein_a_reverse(), none = skein_a_normal()
        let under = skein_a_underline()
        switch role {
        case .normal: return Entry(fg256: -1, fg8: -1, colourAttrs: none, mono: none)
        case .dim: return Entry(fg256: 244, fg8: Int16(COLOR_WHITE), colourAttrs: none, mono: dim)
        case .title: return Entry(fg256: 81, fg8: Int16(COLOR_CYAN), colourAttrs: none, mono: bold)
        case .border: return Entry(fg256: 60, fg8: Int16(COLOR_BLUE), colourAttrs: none, mono: none)
        case .focus: return Entry(fg256: 45, fg8: Int16(COLOR_CYAN), colourAttrs: bold, mono: bold)
        case .selected: return Entry(fg256: 45, fg8: Int16(COLOR_CYAN), colourAttrs: none, mono: rev)
        case .header: return Entry(fg256: 250, fg8: Int16(COLOR_WHITE), colourAttrs: none, mono: under)
        case .key: return Entry(fg256: 222, fg8: Int16(COLOR_YELLOW), colourAttrs: none, mono: bold)
        case .ok: return Entry(fg256: 114, fg8: Int16(COLOR_GREEN), colourAttrs: none, mono: none)
        case .warning: return Entry(fg256: 214, fg8: Int16(COLOR_YELLOW), colourAttrs: none, mono: bold)
        case .error: return Entry(fg256: 203, fg8: Int16(COLOR_RED), colourAttrs: none, mono: bold)
        case .critical: return Entry(fg256: 196, fg8: Int16(COLOR_RED), colourAttrs: bold, mono: bold | rev)
        case .coldStart: return Entry(fg256: 39, fg8: Int16(COLOR_BLUE), colourAttrs: none, mono: none)
        case .db: return Entry(fg256: 141, fg8: Int16(COLOR_MAGENTA), colourAttrs: none, mono: none)
        case .edge: return Entry(fg256: 221, fg8: Int16(COLOR_YELLOW), colourAttrs: none, mono: none)
        case .serverless: return Entry(fg256: 80, fg8: Int16(COLOR_CYAN), colourAttrs: none, mono: none)
        case .server: return Entry(fg256: 150, fg8: Int16(COLOR_GREEN), colourAttrs: none, mono: none)
        case .accent: return Entry(fg256: 123, fg8: Int16(COLOR_CYAN), colourAttrs: none, mono: none)
        }
    }
}
