/// The one value every decoder produces and the engine consumes (DESIGN.md, "One event type").
///
/// Every platform format is an adapter onto this shape. Fields a format does not know stay `nil`;
/// fields the engine does not know travel in `attributes`. Where it ran (service, instance,
/// platform, runtime, region, pool) is held as `Symbol`s; other strings that repeat (route, method)
/// come from an `Interner`, so a million events share a few hundred string buffers.
public struct Event: Sendable, Equatable {
    /// Event time as logged by its source (not yet corrected for clock skew).
    public var time: Timestamp
    public var kind: EventKind
    public var level: Level
    /// Which input produced it: an index into the pipeline's source table.
    public var source: SourceID

    // Where it ran: symbols, so events cross threads and fill the engine's tables without reference
    // counting (`$service` is the symbol, `service` its text).
    @SymbolText public var service: String?
    /// The execution environment: a Lambda log stream, an isolate, a pod, a process.
    @SymbolText public var instance: String?
    public var deploy: DeployModel?
    /// e.g. `aws-lambda`, `cloudflare-workers`, `vercel`, `k8s`, `postgres`.
    @SymbolText public var platform: String?
    /// e.g. `nodejs20`, `python3.12`, `go`, `java21`, `workerd`.
    @SymbolText public var runtime: String?
    @SymbolText public var region: String?

    // The request's ids. Any two present on one event are linked into one trace.
    /// A W3C trace id (32 lower-case hex digits); also the root of an X-Ray trace id. The strong id.
    public var traceID: String?
    /// The app's correlation id (`correlation_id`, `x-request-id`, `reqId`, ...). A weak id.
    public var correlationID: String?
    /// The platform's request id (Lambda `requestId`, Vercel `requestId`, Cloudflare `cf-ray`). A weak id.
    public var requestID: String?
    /// The span this line belongs to (`$spanID` is the packed id, `spanID` its text).
    @SpanIDText public var spanID: String?
    @SpanIDText public var parentSpanID: String?

    // Request facts.
    public var route: String?
    public var method: String?
    /// Explicit cold-start flag (`cold_start: true`, `faas.coldstart`).
    public var coldStart: Bool?

    // Connection facts.
    @SymbolText public var dbPool: String?
    public var dbError: DBErrorKind?

    // The optional numbers are kept bare, with a bit each for "set" (`SetBits`): events are copied
    // into and out of every hand-over, and this took the event from 328 bytes to 288.
    private var _status = 0
    private var _durationMS = 0.0
    private var _cpuMS = 0.0
    private var _initMS = 0.0
    private var _dbOpen = 0
    private var _dbMax = 0
    private var _waitMS = 0.0
    private var numbers = SetBits()

    public var status: Int? {
        get { numbers.value(_status, bit: 1) }
        set { numbers.store(newValue, in: &_status, bit: 1, absent: 0) }
    }
    /// For `request.end`, `span`, `bg.end`: how long it took.
    public var durationMS: Double? {
        get { numbers.value(_durationMS, bit: 2) }
        set { numbers.store(newValue, in: &_durationMS, bit: 2, absent: 0) }
    }
    public var cpuMS: Double? {
        get { numbers.value(_cpuMS, bit: 4) }
        set { numbers.store(newValue, in: &_cpuMS, bit: 4, absent: 0) }
    }
    /// For `instance.start` (cold start), or a request that reports its own init time.
    public var initMS: Double? {
        get { numbers.value(_initMS, bit: 8) }
        set { numbers.store(newValue, in: &_initMS, bit: 8, absent: 0) }
    }
    /// Connections this instance holds open after the event (or, for `db.sample`, the server's total).
    public var dbOpen: Int? {
        get { numbers.value(_dbOpen, bit: 16) }
        set { numbers.store(newValue, in: &_dbOpen, bit: 16, absent: 0) }
    }
    /// `max_connections`, when the event knows it.
    public var dbMax: Int? {
        get { numbers.value(_dbMax, bit: 32) }
        set { numbers.store(newValue, in: &_dbMax, bit: 32, absent: 0) }
    }
    /// Time spent waiting for a pooled connection.
    public var waitMS: Double? {
        get { numbers.value(_waitMS, bit: 64) }
        set { numbers.store(newValue, in: &_waitMS, bit: 64, absent: 0) }
    }

    /// Setting it forgets `messageFacts`, which were read from the text before.
    public var message: String? {
        didSet { messageFacts = nil }
    }
    /// What the engine reads from the message (`MessageFacts`), when a decoder read it from the bytes
    /// already; nil means "read it from `message`". A decoder told to keep only notable messages'
    /// text (`DecodeContext.keepsEveryMessage`) sets these and may leave `message` nil.
    public var messageFacts: MessageFacts?
    /// Everything else the line carried, keys flattened with dots (`req.headers.host`), values as text.
    public var attributes: [Attribute]

    public init(
        time: Timestamp, kind: EventKind = .log, level: Level = .info, source: SourceID = SourceID(0),
        service: String? = nil, instance: String? = nil, deploy: DeployModel? = nil,
        platform: String? = nil, runtime: String? = nil, region: String? = nil,
        traceID: String? = nil, correlationID: String? = nil, requestID: String? = nil,
        spanID: String? = nil, parentSpanID: String? = nil,
        route: String? = nil, method: String? = nil, status: Int? = nil,
        durationMS: Double? = nil, cpuMS: Double? = nil, initMS: Double? = nil, coldStart: Bool? = nil,
        dbPool: String? = nil, dbOpen: Int? = nil, dbMax: Int? = nil, waitMS: Double? = nil,
        dbError: DBErrorKind? = nil, message: String? = nil, attributes: [Attribute] = []
    ) {
        self.time = time; self.kind = kind; self.level = level; self.source = source
        _service = SymbolText(wrappedValue: service); _instance = SymbolText(wrappedValue: instance)
        self.deploy = deploy
        _platform = SymbolText(wrappedValue: platform); _runtime = SymbolText(wrappedValue: runtime)
        _region = SymbolText(wrappedValue: region)
        self.traceID = traceID; self.correlationID = correlationID; self.requestID = requestID
        _spanID = SpanIDText(wrappedValue: spanID); _parentSpanID = SpanIDText(wrappedValue: parentSpanID)
        self.route = route; self.method = method; self.coldStart = coldStart
        _dbPool = SymbolText(wrappedValue: dbPool)
        self.dbError = dbError; self.message = message; self.attributes = attributes
        self.status = status; self.durationMS = durationMS; self.cpuMS = cpuMS; self.initMS = initMS
        self.dbOpen = dbOpen; self.dbMax = dbMax; self.waitMS = waitMS
    }

    /// The deploy model as logged, else inferred from the platform.
    public var effectiveDeploy: DeployModel? { deploy ?? platform.flatMap(DeployModel.inferred(platform:)) }

    /// True when the event carries any id that can name a trace.
    public var hasTraceIdentity: Bool { traceID != nil || correlationID != nil || requestID != nil }

    public func attribute(_ key: String) -> String? {
        for a in attributes where a.key == key { return a.value }
        return nil
    }
}

/// One unknown field kept from the input.
public struct Attribute: Sendable, Equatable, Hashable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) { self.key = key; self.value = value }
}

/// Index of an input source in the pipeline's source table.
public struct SourceID: Sendable, Hashable, Comparable {
    public var raw: UInt32
    public init(_ raw: UInt32) { self.raw = raw }
    public static func < (a: SourceID, b: SourceID) -> Bool { a.raw < b.raw }
}

/// What happened. Raw values are the `event` field of Skein's log convention.
public enum EventKind: String, Sendable, CaseIterable, Hashable {
    case requestStart = "request.start"
    case requestEnd = "request.end"
    case responseSent = "response.sent"
    /// A cold start: the instance initialised (`init_ms`).
    case instanceStart = "instance.start"
    case instanceStop = "instance.stop"
    case dbConnect = "db.connect"
    case dbDisconnect = "db.disconnect"
    case dbAcquire = "db.acquire"
    case dbRelease = "db.release"
    case dbError = "db.error"
    /// A reading of the server's own connection count (`dbOpen` of `dbMax`), from a sampler or server log.
    case dbSample = "db.sample"
    case bgStart = "bg.start"
    case bgEnd = "bg.end"
    case wsOpen = "ws.open"
    case wsClose = "ws.close"
    /// A finished span: `time` is its start, `durationMS` its length (OTLP spans).
    case span = "span"
    case log = "log"

    public init?(name: some StringProtocol) {
        self.init(rawValue: String(name))
    }
}

/// Where code runs: the three deployment models of a hybrid backend.
public enum DeployModel: String, Sendable, CaseIterable, Hashable, Comparable {
    case edge, serverless, server

    public static func < (a: DeployModel, b: DeployModel) -> Bool { a.order < b.order }
    private var order: Int { switch self { case .edge: 0; case .serverless: 1; case .server: 2 } }

    /// Accepts the convention's names and common synonyms.
    public init?(name: some StringProtocol) {
        switch name.lowercased() {
        case "edge", "isolate", "worker", "workers": self = .edge
        case "serverless", "faas", "function", "lambda", "functions": self = .serverless
        case "server", "long-running", "longrunning", "container", "vm", "pod", "service", "k8s": self = .server
        default: return nil
        }
    }

    /// The deploy model a platform implies, when a line does not say.
    public static func inferred(platform: String) -> DeployModel? {
        let p = platform.lowercased()
        if p.contains("worker") || p.contains("edge") || p.contains("deno") || p == "cloudflare" || p == "workerd" {
            return .edge
        }
        if p.contains("lambda") || p.contains("vercel") || p.contains("netlify") || p.contains("function")
            || p.contains("cloud-run") || p.contains("cloud_run") || p == "gcp_cloud_run" || p.contains("faas") {
            return .serverless
        }
        if p == "k8s" || p.contains("kubernetes") || p.contains("ecs") || p.contains("fly") || p.contains("heroku")
            || p.contains("ec2") || p.contains("vm") || p.contains("docker") || p.contains("container")
            || p == "postgres" || p == "postgresql" {
            return .server
        }
        return nil
    }
}

/// Severity, ordered.
public enum Level: UInt8, Sendable, CaseIterable, Comparable, Hashable {
    case trace, debug, info, warn, error, fatal

    public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

    public var name: String {
        switch self {
        case .trace: "trace"; case .debug: "debug"; case .info: "info"
        case .warn: "warn"; case .error: "error"; case .fatal: "fatal"
        }
    }

    /// Names used by common loggers: `WARN`, `warning`, `ERR`, `critical`, `panic`, ...
    public init?(name: some StringProtocol) {
        switch name.lowercased() {
        case "trace", "trc", "verbose", "finest": self = .trace
        case "debug", "dbg", "fine": self = .debug
        case "info", "inf", "information", "notice", "log", "default": self = .info
        case "warn", "warning", "wrn": self = .warn
        case "error", "err", "eror", "severe": self = .error
        case "fatal", "crit", "critical", "panic", "emerg", "emergency", "alert", "dpanic": self = .fatal
        default: return nil
        }
    }

    /// pino/bunyan numeric levels (10 trace … 60 fatal); OTLP severity numbers (1–24) are mapped by the OTLP decoder.
    public init(pinoLevel n: Int) {
        switch n {
        case ..<20: self = .trace
        case 20..<30: self = .debug
        case 30..<40: self = .info
        case 40..<50: self = .warn
        case 50..<60: self = .error
        default: self = .fatal
        }
    }
}

/// Database failures the insights care about.
public enum DBErrorKind: String, Sendable, CaseIterable, Hashable {
    /// `FATAL: sorry, too many clients already`, Prisma P2037.
    case tooManyClients = "too_many_clients"
    /// `remaining connection slots are reserved for ...`
    case reservedSlots = "reserved_slots"
    /// A pool gave up waiting for a connection (Prisma P2024, node-postgres "timeout exceeded ...").
    case poolTimeout = "pool_timeout"
    /// The connection dropped under the client ("Connection terminated unexpectedly", admin termination).
    case connectionLost = "connection_lost"
    case other = "other"

    /// Whether this error means the server ran out of connection slots.
    public var isExhaustion: Bool { self == .tooManyClients || self == .reservedSlots }
}
