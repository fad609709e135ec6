import SkeinCore

/// Heroku's log stream as `heroku logs` (and a Logplex drain) prints it:
/// `<time> <source>[<dyno>]: <message>`.
///
/// - `heroku[router]:` lines are the request as the router saw it (`at=info method=GET path="/x"
///   host=… request_id=… dyno=web.1 connect=1ms service=18ms status=200 bytes=…`): a `request.end`
///   on the dyno that served it, with route, method, status, duration (connect + service) and
///   Heroku's request id, which the router also hands the app as `X-Request-Id`. `service=` there
///   is a time, not a service name; `at=error` lines carry the H-code.
/// - `app[web.1]:` lines are the app's own, decoded like a container's line (JSON, logfmt or text).
/// - Other `heroku[…]` lines (dyno state changes, R-errors) are logs on their dyno.
///
/// The dyno (`web.1`) is the instance and its process type (`web`) the service, unless the app's
/// own line names one; dynos are long-running servers.
///
/// Fly.io's `flyctl logs` has the same shape with a region and a level before the message
/// (`<time> app[<machine>] <region> [<level>] <message>`): read here too, with platform `fly`, the
/// machine as the instance and the region kept.
public struct HerokuDecoder: StandaloneTextDecoder {
    public let name = "heroku"
    private var tape = JSONTape()
    public var standaloneContext = DecodeContext()

    public init() {}

    public func recognises(_ frame: UnsafeBufferPointer<UInt8>) -> Bool {
        HerokuDecoder.prefix(frame) != nil
    }

    public mutating func decode(_ frame: UnsafeBufferPointer<UInt8>, source: SourceID, context: inout DecodeContext,
                                into events: inout [Event]) -> DecodeOutcome {
        guard let p = HerokuDecoder.prefix(frame) else { return .malformed(.unrecognised) }
        let origin = ByteText.slice(frame, p.source.lowerBound, p.source.upperBound)
        let dyno = ByteText.slice(frame, p.dyno.lowerBound, p.dyno.upperBound)
        let message = ByteText.slice(frame, p.message, ByteText.trimmedEnd(frame, p.message, frame.count))
        var event = Event(time: p.time, source: source, deploy: .server, platform: p.fly ? "fly" : "heroku")
        if p.fly {
            if !dyno.isEmpty { event.instance = context.interner.intern(dyno) }
            if let r = p.region { event.region = context.interner.intern(ByteText.slice(frame, r.lowerBound, r.upperBound)) }
            if let l = p.level { event.level = ConventionBuilder.levelName(ByteText.slice(frame, l.lowerBound, l.upperBound)) ?? .info }
            _ = ContainerLine.apply(message, tape: &tape, to: &event, context: &context)
        } else {
            HerokuDecoder.map(origin: origin, dyno: dyno, message: message, into: &event, tape: &tape, context: &context)
        }
        _ = ConventionMapper.settleTime(&event, found: true, context: &context)
        DBErrorClassifier.apply(to: &event)
        events.append(event)
        return .events(1)
    }

    /// One Heroku entry, from `heroku logs` or a Logplex drain's syslog frame (`SyslogDecoder`):
    /// `origin` is `app` or `heroku`, `dyno` the dyno or `router`.
    static func map(origin: UnsafeBufferPointer<UInt8>, dyno: UnsafeBufferPointer<UInt8>, message: UnsafeBufferPointer<UInt8>,
                    into event: inout Event, tape: inout JSONTape, context: inout DecodeContext) {
        if ByteText.equal(origin, "heroku") && ByteText.equal(dyno, "router") {
            router(message, into: &event, context: &context)
            return
        }
        if !dyno.isEmpty {
            event.instance = context.interner.intern(dyno)
            event.service = context.interner.intern(HerokuDecoder.processType(dyno))
        }
        if ByteText.equal(origin, "app") {
            // The app's own line: its JSON or logfmt may name service, instance, time and ids.
            _ = ContainerLine.apply(message, tape: &tape, to: &event, context: &context)
        } else {
            event.message = String(decoding: message, as: UTF8.self)
            event.attributes.append(Attribute("heroku.source", String(decoding: origin, as: UTF8.self)))
        }
    }

    /// A router line: the request, ended.
    private static func router(_ m: UnsafeBufferPointer<UInt8>, into e: inout Event, context: inout DecodeContext) {
        e.kind = .requestEnd
        e.message = String(decoding: m, as: UTF8.self)
        var connect: Double?
        var service: Double?
        LogfmtDecoder.forEachPair(m) { key, value in
            value.withBytes { v in
                // `dyno= connect= service=`: what an H10 (app crashed) leaves empty.
                guard !v.isEmpty else { return }
                switch String(decoding: key, as: UTF8.self) {
                case "at": if ByteText.equal(v, "error") { e.level = .error }
                case "method": e.method = context.interner.intern(v)
                case "path": e.route = context.interner.intern(ConventionBuilder.routePart(v))
                case "request_id": e.requestID = String(decoding: v, as: UTF8.self)
                case "dyno":
                    e.instance = context.interner.intern(v)
                    e.service = context.interner.intern(HerokuDecoder.processType(v))
                case "status": e.status = NumberParsing.int(v)
                case "connect": connect = GoDuration.milliseconds(v)
                case "service": service = GoDuration.milliseconds(v)
                case "code": e.attributes.append(Attribute("heroku.code", String(decoding: v, as: UTF8.self)))
                case "desc": e.attributes.append(Attribute("heroku.desc", String(decoding: v, as: UTF8.self)))
                case "host": e.attributes.append(Attribute("host", String(decoding: v, as: UTF8.self)))
                default: break
                }
            }
        }
        if connect != nil || service != nil { e.durationMS = (connect ?? 0) + (service ?? 0) }
        if e.service == nil { e.service = "router" }
    }

    /// `web.1` → `web`.
    static func processType(_ dyno: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        guard let dot = ByteText.find(dyno, ".", from: 0), dot > 0 else { return dyno }
        return ByteText.slice(dyno, 0, dot)
    }

    struct Prefix {
        var time: Timestamp
        var source: Range<Int>
        var dyno: Range<Int>
        var message: Int
        /// Fly's form, with its region and level.
        var fly = false
        var region: Range<Int>?
        var level: Range<Int>?
    }

    /// `<RFC 3339 time> <source>[<dyno>]: ` (Heroku) or `<RFC 3339 time> <source>[<machine>] <region>
    /// [<level>] ` (Fly): the source is a word of lower-case letters.
    static func prefix(_ b: UnsafeBufferPointer<UInt8>) -> Prefix? {
        guard !b.isEmpty, ByteText.isDigit(b[0]), let (time, afterTime) = PlatformTime.parse(b),
              afterTime < b.count, b[afterTime] == 0x20 else { return nil }
        let s = afterTime + 1
        var p = s
        while p < b.count, b[p] >= 0x61 && b[p] <= 0x7a { p += 1 }
        guard p > s, p < b.count, b[p] == UInt8(ascii: "[") else { return nil }
        let dyno = p + 1
        var q = dyno
        while q < b.count, b[q] != UInt8(ascii: "]"), b[q] != 0x20 { q += 1 }
        guard q + 1 < b.count, b[q] == UInt8(ascii: "]") else { return nil }
        if b[q + 1] == UInt8(ascii: ":") {
            return Prefix(time: time, source: s..<p, dyno: dyno..<q, message: ByteText.skipSpaces(b, q + 2))
        }
        // Fly: ` <region> [<level>] `, the region a short lower-case word.
        guard b[q + 1] == 0x20 else { return nil }
        let r = q + 2
        var re = r
        while re < b.count, (b[re] >= 0x61 && b[re] <= 0x7a) || ByteText.isDigit(b[re]) { re += 1 }
        guard re > r, re - r <= 8, re + 2 < b.count, b[re] == 0x20, b[re + 1] == UInt8(ascii: "[") else { return nil }
        let l = re + 2
        guard let close = ByteText.find(ByteText.slice(b, l, min(b.count, l + 12)), "]", from: 0), close > 0 else { return nil }
        return Prefix(time: time, source: s..<p, dyno: dyno..<q, message: ByteText.skipSpaces(b, l + close + 1),
                      fly: true, region: r..<re, level: l..<(l + close))
    }
}
