import SkeinCore

/// The services of the simulated hybrid backend.
enum ServiceKind: Int, CaseIterable, Sendable {
    case edge, feedAPI, cartFn, checkout, chat, queueWorker, postgres, pgbouncer

    var name: String {
        switch self {
        case .edge: "edge-api"
        case .feedAPI: "feed-api"
        case .cartFn: "cart-fn"
        case .checkout: "checkout"
        case .chat: "chat"
        case .queueWorker: "queue-worker"
        case .postgres: "postgres"
        case .pgbouncer: "pgbouncer"
        }
    }

    var deploy: DeployModel {
        switch self {
        case .edge: .edge
        case .feedAPI, .cartFn, .checkout: .serverless
        case .chat, .queueWorker, .postgres, .pgbouncer: .server
        }
    }

    var platform: String {
        switch self {
        case .edge: "cloudflare-workers"
        case .feedAPI, .checkout: "aws-lambda"
        case .cartFn: "vercel"
        case .chat, .queueWorker, .pgbouncer: "k8s"
        case .postgres: "postgres"
        }
    }

    var runtime: String? {
        switch self {
        case .edge: "workerd"
        case .feedAPI, .cartFn, .chat: "nodejs20"
        case .checkout: "python3.12"
        case .queueWorker: "go"
        case .postgres, .pgbouncer: nil
        }
    }

    /// Where it runs; edge isolates take their colo instead.
    var region: String {
        switch self {
        case .cartFn: "iad1"
        default: "us-east-1"
        }
    }

    var isServerless: Bool { deploy == .serverless }

    /// Initialisation time of a new instance, in milliseconds.
    var initRangeMS: (Double, Double) {
        switch self {
        case .edge: (0.3, 5)
        case .feedAPI: (150, 400)
        case .cartFn: (120, 350)
        case .checkout: (300, 800)
        case .chat: (900, 1400)
        case .queueWorker: (60, 180)
        case .postgres: (0, 0)
        case .pgbouncer: (20, 60)
        }
    }

    /// How far this source's clock may be off, in milliseconds (never more than ±300).
    var skewMS: Int {
        switch self {
        case .edge, .feedAPI, .cartFn, .checkout: 300
        case .chat, .queueWorker, .pgbouncer: 40
        case .postgres: 5
        }
    }

    /// How long its lines take to reach the collector (log drains batch), in milliseconds.
    var shippingDelayMS: (Double, Double) {
        switch self {
        case .edge: (30, 450)
        case .feedAPI, .checkout: (80, 900)
        case .cartFn: (50, 650)
        case .chat, .queueWorker, .pgbouncer: (10, 250)
        case .postgres: (5, 60)
        }
    }
}

/// A Cloudflare colo the edge runs in, with its one-way latency to the origin region.
struct Colo: Sendable {
    let code: String
    let weight: Double
    let oneWayMS: (Double, Double)

    static let all: [Colo] = [
        Colo(code: "FRA", weight: 0.4, oneWayMS: (42, 50)),
        Colo(code: "IAD", weight: 0.4, oneWayMS: (1, 4)),
        Colo(code: "SIN", weight: 0.2, oneWayMS: (105, 118)),
    ]
}

/// What a request asks for; decides which services it passes through.
enum Route: Int, Sendable {
    case feed, product, cart, chatHistory, checkout, job

    /// Share of edge traffic per public route.
    static let publicWeights: [Double] = [0.45, 0.30, 0.15, 0.10]

    var pattern: String {
        switch self {
        case .feed: "GET /api/feed"
        case .product: "GET /api/product/:id"
        case .cart: "POST /api/cart"
        case .chatHistory: "GET /api/chat/history"
        case .checkout: "POST /internal/checkout"
        case .job: "job order.created"
        }
    }

    var method: String? {
        switch self {
        case .feed, .product, .chatHistory: "GET"
        case .cart, .checkout: "POST"
        case .job: nil
        }
    }

    /// Handler time outside the database, in milliseconds.
    var appMS: (Double, Double) {
        switch self {
        case .feed: (10, 45)
        case .product: (4, 15)
        case .cart: (6, 20)
        case .checkout: (25, 80)
        case .chatHistory: (1, 4)
        case .job: (3, 12)
        }
    }

    /// Query time on an unloaded database, in milliseconds.
    var queryMS: (Double, Double) {
        switch self {
        case .feed: (6, 30)
        case .product: (2, 10)
        case .cart: (4, 16)
        case .checkout: (15, 50)
        case .chatHistory: (3, 18)
        case .job: (5, 25)
        }
    }
}

/// The ids one request carries from hop to hop.
struct RequestContext: Sendable {
    var correlationID: String
    /// Absent for requests that only carry a correlation id.
    var traceID: String?
    var route: Route
    var colo: Int
    var checkout: Bool
}

/// One service instance's part of a request.
struct Hop: Sendable {
    var ctx: RequestContext
    var service: ServiceKind
    var route: Route
    var instance = -1
    var spanID: String?
    var parentSpanID: String?
    /// The hop waiting for this one's answer, or -1.
    var parent = -1
    var requestID: String?
    var start: Int64 = 0
    var cold = false
    var childCalled = false
    var status = 200
    var cpuMS = 0.0
}

/// An instance's lifecycle as the platform sees it.
enum InstanceState: Sendable {
    case initialising, busy, idle, gone
}

/// Work a function left running after its response; frozen with the instance.
struct BackgroundWork: Sendable {
    var correlationID: String
    var traceID: String?
    var spanID: String?
    var parentSpanID: String?
    var requestID: String?
    var started: Int64
    var remainingMS: Double
}

/// One execution environment: an isolate, a function instance, a pod, the database.
struct Instance: Sendable {
    let service: ServiceKind
    let id: String
    let prefix: [UInt8]
    let skew: Int64
    var state: InstanceState = .initialising
    var idleSince: Int64 = 0
    /// Idle time after which the platform reaps (functions) or evicts (isolates) it, in nanoseconds.
    var idleTimeout: Int64 = 0
    /// Connections the pool opens on first use (functions) or holds (servers).
    var poolTarget = 0
    var poolOpened = false
    var dbOpen = 0
    /// When each pooled connection is next free (servers share their pool between requests).
    var slots: [Int64] = []
    var inflight = 0
    var lastUsed: Int64 = 0
    var colo = -1
    var background: BackgroundWork?
    var clients = 0
}
