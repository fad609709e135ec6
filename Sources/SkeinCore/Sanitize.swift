/// Makes log text safe for a terminal: control characters and escape sequences never pass.
///
/// ANSI CSI/OSC sequences are removed whole (so colour codes inside messages vanish rather than
/// leaving `[31m` behind); other C0/C1 controls become `?`; tabs and newlines become spaces.
public enum Sanitizer {
    public static func clean(_ text: String) -> String {
        var needs = false
        for u in text.unicodeScalars where u.value < 0x20 || (u.value >= 0x7f && u.value < 0xa0) {
            needs = true
            break
        }
        if !needs { return text }
        var out = String.UnicodeScalarView()
        var it = text.unicodeScalars.makeIterator()
        while let u = it.next() {
            switch u.value {
            case 0x1b:
                // ESC: swallow a CSI (ESC [ ... final byte 0x40–0x7e) or OSC (ESC ] ... BEL/ST) sequence.
                guard let n = it.next() else { return String(out) }
                if n == "[" {
                    while let c = it.next(), !(0x40...0x7e).contains(c.value) {}
                } else if n == "]" {
                    var prevEsc = false
                    while let c = it.next() {
                        if c.value == 0x07 || (prevEsc && c == "\\") { break }
                        prevEsc = c.value == 0x1b
                    }
                }
            case 0x09, 0x0a, 0x0d:
                out.append(" ")
            case 0..<0x20, 0x7f..<0xa0:
                out.append("?")
            default:
                out.append(u)
            }
        }
        return String(out)
    }
}
