import SkeinCore

/// JSON an app logged inside a platform's record (a Lambda message, a Vercel message, a Worker's
/// `console.log` of an object), mapped onto the platform's event with the convention's field names.
///
/// The platform's own facts (time, request id, instance) stay; the app adds its correlation id,
/// trace context, route, status and level, which is what links the platform's request id to the
/// app's ids.
enum EmbeddedJSON {
    /// Maps the members of the object at `obj` onto `event` with the convention's alias table.
    ///
    /// The envelope's time stays: the platform stamped every line of the stream with one clock.
    static func merge(_ doc: JSONDocument, _ obj: Int, into event: inout Event, context: inout DecodeContext) {
        guard doc.kind(obj) == .object else { return }
        let time = event.time
        mergeKeepingTime(doc, obj, into: &event, context: &context)
        event.time = time
    }

    /// Like `merge`, but the app's own time (if any) replaces the event's; returns whether it had one.
    ///
    /// The platform's instance stays either way: it knows the execution environment, while an app's
    /// `hostname` inside a sandbox is an address (Lambda's `169.254.…`); the app's value is kept as
    /// `app.instance`.
    @discardableResult
    static func mergeKeepingTime(_ doc: JSONDocument, _ obj: Int, into event: inout Event,
                                 context: inout DecodeContext) -> Bool {
        let instance = event.instance
        let timed = ConventionMapper.apply(doc, object: obj, to: &event, context: &context)
        if let instance, event.instance != instance {
            if let app = event.instance { event.attributes.append(Attribute("app.instance", app)) }
            event.instance = instance
        }
        return timed
    }

    /// When `text` is a JSON object, maps it onto `event` and returns true.
    /// `tape` is the caller's scratch, reused from line to line.
    static func mergeIfJSON(_ text: String, tape: inout JSONTape, into event: inout Event,
                            context: inout DecodeContext) -> Bool {
        var text = text
        return text.withUTF8 { b in
            let s = ByteText.skipSpaces(b, 0)
            guard s < b.count, b[s] == UInt8(ascii: "{") else { return false }
            do throws(JSONTape.Failure) { try tape.parse(b) } catch { return false }
            let doc = JSONDocument(tape: tape, bytes: b)
            merge(doc, doc.root, into: &event, context: &context)
            if event.message == nil { event.message = String(decoding: b, as: UTF8.self) }
            return true
        }
    }

    /// `mergeIfJSON` of the text these bytes decode to, without making that text first: a JSON
    /// object is parsed in place. When it does not parse, the decoded (repaired) text gets the
    /// `String` version's own try, so invalid UTF-8 is treated exactly as there.
    static func mergeIfJSON(bytes b: UnsafeBufferPointer<UInt8>, tape: inout JSONTape, into event: inout Event,
                            context: inout DecodeContext) -> Bool {
        let s = ByteText.skipSpaces(b, 0)
        guard s < b.count, b[s] == UInt8(ascii: "{") else { return false }
        do throws(JSONTape.Failure) {
            try tape.parse(b)
        } catch {
            return mergeIfJSON(String(decoding: b, as: UTF8.self), tape: &tape, into: &event, context: &context)
        }
        // It parsed, so every byte is valid UTF-8 (the tape checks strings; nothing else may be
        // non-ASCII) and the bytes are the text's.
        let doc = JSONDocument(tape: tape, bytes: b)
        merge(doc, doc.root, into: &event, context: &context)
        if event.message == nil { event.message = String(decoding: b, as: UTF8.self) }
        return true
    }

    /// A convention record whose message is itself a JSON object (a double-encoded log line): the
    /// inner object's fields count too, so ids inside it (`x-request-id`, `traceparent`) link.
    static func expandMessage(_ event: inout Event, context: inout DecodeContext) {
        guard let m = event.message, m.utf8.first == UInt8(ascii: "{"), m.utf8.last == UInt8(ascii: "}") else { return }
        var tape = JSONTape(maxDepth: 32, maxNodes: 4096)
        event.message = nil
        if !mergeIfJSON(m, tape: &tape, into: &event, context: &context) || event.message == nil { event.message = m }
    }

    /// `/api/feed?page=2` → `/api/feed`: the route without its query.
    static func pathOnly(_ url: String) -> String {
        var url = url
        return url.withUTF8 { b -> String in
            guard let r = pathBounds(b) else { return "/" }
            return String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self)
        }
    }

    /// `interner.intern(pathOnly(url))`, interned from the bytes (no intermediate `String`).
    static func internedPath(_ url: String, _ interner: inout Interner) -> String {
        var url = url
        return url.withUTF8 { b -> String in
            guard let r = pathBounds(b) else { return interner.intern("/") }
            return interner.intern(UnsafeBufferPointer(rebasing: b[r]))
        }
    }

    /// `internedPath` of a URL's bytes.
    static func internedPath(bytes b: UnsafeBufferPointer<UInt8>, _ interner: inout Interner) -> String {
        guard let r = pathBounds(b) else { return interner.intern("/") }
        return interner.intern(UnsafeBufferPointer(rebasing: b[r]))
    }

    /// Where `pathOnly`'s result sits in the URL's bytes; nil for a bare `scheme://host` (the path is `/`).
    private static func pathBounds(_ b: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        // On the UTF-8 bytes: Character-level Substring searches cost thousands of instructions
        // per URL, and every edge and Vercel request line has one.
        var start = 0
        var end = b.count
        var i = 0
        while i + 2 < b.count {
            if b[i] == 0x3A && b[i + 1] == 0x2F && b[i + 2] == 0x2F {  // "://"
                var j = i + 3
                while j < b.count && b[j] != 0x2F { j += 1 }
                if j == b.count { return nil }
                start = j
                break
            }
            i += 1
        }
        var k = start
        while k < end {
            if b[k] == 0x3F || b[k] == 0x23 { end = k; break }  // "?" or "#"
            k += 1
        }
        return start..<end
    }
}
