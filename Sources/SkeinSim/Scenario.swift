/// A story the simulated fleet plays out; after its length it falls back to steady traffic.
public enum Scenario: String, CaseIterable, Sendable {
    /// Everyday traffic: a few requests a second, the odd cold start, nothing breaks.
    case steady
    /// Traffic ×20 within 10 s: a cold-start cascade whose connection pools exhaust Postgres.
    case burst
    /// A function keeps working after it has responded and the platform freezes it mid-way.
    case afterResponse = "after-response"
    /// The same burst behind PgBouncer in transaction mode: the server never sees more than the pool.
    case pooler
    /// All of the above in one five-minute story.
    case incident

    /// How long the story lasts before traffic settles back to steady, in seconds.
    public var defaultDurationSeconds: Int {
        switch self {
        case .steady: 120
        case .burst: 150
        case .afterResponse: 60
        case .pooler: 150
        case .incident: 300
        }
    }

    /// One sentence for `skein demo --help` and the sample-logs README.
    public var summary: String {
        switch self {
        case .steady: "steady traffic across edge, functions, a chat server and Postgres"
        case .burst: "traffic ×20 in 10 s: cold-start cascade, connection exhaustion, 5xx, recovery as instances are reaped"
        case .afterResponse: "a function works after responding; the platform freezes it mid-way"
        case .pooler: "the same burst behind a transaction-mode pooler: no exhaustion"
        case .incident: "burst, exhaustion, recovery, work after the response and an edge CPU limit in one story"
        }
    }

    var plan: ScenarioPlan {
        switch self {
        case .steady: ScenarioPlan(wobble: true)
        case .burst: ScenarioPlan(burstAt: 20)
        case .afterResponse: ScenarioPlan(backgroundFrom: 0)
        case .pooler: ScenarioPlan(burstAt: 20, pooler: true)
        case .incident: ScenarioPlan(burstAt: 40, backgroundFrom: 150, cpuWindow: 210..<230)
        }
    }
}

/// When things happen in a scenario, in seconds since its start.
struct ScenarioPlan: Sendable {
    /// A gentle ±15 % swell so steady traffic is not a flat line.
    var wobble = false
    /// Start of the ramp: ×20 reached 10 s later, held 25 s, back to ×1 over 10 s.
    var burstAt: Double?
    /// From then on, some feed requests flush analytics after responding.
    var backgroundFrom: Double?
    /// Product pages rendered at the edge burn CPU past the 50 ms limit.
    var cpuWindow: Range<Double>?
    /// Functions reach Postgres through PgBouncer instead of directly.
    var pooler = false

    static let peak = 20.0
    static let ramp = 10.0
    static let hold = 25.0

    /// Traffic relative to the steady rate at `t` seconds since the start.
    func multiplier(at t: Double, duration: Double) -> Double {
        if t >= duration { return 1 }
        if let b = burstAt {
            let x = t - b
            if x >= 0 {
                if x < Self.ramp { return 1 + (Self.peak - 1) * x / Self.ramp }
                if x < Self.ramp + Self.hold { return Self.peak }
                let y = x - Self.ramp - Self.hold
                if y < Self.ramp { return Self.peak - (Self.peak - 1) * y / Self.ramp }
            }
        }
        if wobble {
            // A triangle wave with a 60 s period keeps the arithmetic free of platform maths.
            let phase = t.truncatingRemainder(dividingBy: 60) / 60
            let tri = phase < 0.5 ? phase * 4 - 1 : 3 - phase * 4
            return 1 + 0.15 * tri
        }
        return 1
    }

    func backgroundActive(at t: Double, duration: Double) -> Bool {
        guard let from = backgroundFrom else { return false }
        return t >= from && t < duration
    }

    func cpuHeavy(at t: Double, duration: Double) -> Bool {
        guard let w = cpuWindow else { return false }
        return w.contains(t) && t < duration
    }
}
