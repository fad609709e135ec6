import SkeinCore

/// One record in a platform's own format, bound for one file of a platform-format recording.
///
/// `bytes` may hold several lines (a Lambda `REPORT` and the `XRAY` line that continues it) that
/// must stay together; it has no trailing newline.
public struct PlatformLine: Sendable, Equatable {
    /// Path of the file inside the recording directory (`aws/shop-functions.log`).
    public let file: String
    /// The time the record is filed under (its own leading time), for ordering within its file.
    public let time: Timestamp
    /// Generation order, the tie-break.
    public let seq: UInt64
    public let bytes: [UInt8]
    /// Lines in `bytes`.
    public let lines: Int
    /// Events Skein's decoder is expected to make of the record (continuation lines make none).
    public let events: Int
}

/// Writes what the simulated fleet does the way each platform really prints it, beside the
/// convention lines of the same run.
///
/// - Lambda functions (`feed-api` Node.js with pino-lambda, `checkout` Python with structlog JSON) as
///   `aws logs tail` prints a shared log group: `<time> <stream> <message>`, streams naming their
///   function, `INIT_START`/`START`/`END`/`REPORT` (with `Init Duration` after a cold start) and the
///   `XRAY` continuation line.
/// - The edge Worker as `wrangler tail --format json` events (one per line).
/// - The Vercel function as log-drain NDJSON (app output, `START`/`REPORT` lines, the proxy record).
/// - The chat pods as pino / pino-http JSON; the Go queue worker as slog JSON.
/// - Postgres as its server log with `log_connections`/`log_disconnections`, prefix `%m [%p] %q%u@%d `.
///
/// Its own random stream keeps the simulation (and so the convention lines) identical with or
/// without it. Facts a format cannot carry are simply not written; `PlatformTruth` counts what is.
struct PlatformWriter {
    private var rng: SimRandom
    private(set) var out: [PlatformLine] = []
    private var seq: UInt64 = 0
    private(set) var truth = PlatformTruth()

    private struct LambdaState {
        var stream: String
        var initMS: Double?
        /// The invocation in progress: the Node runtime stamps every console line with its id.
        var currentRequest = "undefined"
        var memoryUsed = 0
    }
    private var lambdas: [Int: LambdaState] = [:]
    /// The Lambda request id Vercel's function runtime gives each Vercel request.
    private var vercelLambdaIDs: [String: String] = [:]
    private var vercelPendingInit: [Int: Double] = [:]
    private var edgePaths: [String: String] = [:]
    private var chatRequestCounter: [Int: Int] = [:]
    /// Backend pids each instance holds on Postgres, with when each connected.
    private var pids: [Int: [(pid: Int, since: Int64, port: Int)]] = [:]
    private var nextPID = 21_000
    private var hosts: [Int: String] = [:]
    private var serverlessInstances: Set<Int> = []

    static let functionsFile = "aws/shop-functions.log"
    static let edgeFile = "cloudflare/edge-api.wrangler-tail.json"
    static let vercelFile = "vercel/cart-fn.drain.ndjson"
    static let postgresFile = "postgres/postgresql.log"

    init(seed: UInt64) {
        rng = SimRandom(seed: seed ^ 0x0123_4567_89AB_CDEF)
    }

    // MARK: dispatch

    /// Renders one convention record of instance `i` (true time `t`, written with `skew`).
    mutating func write(_ i: Int, _ inst: Instance, at t: Int64, _ r: LineRecord) {
        let ts = t + inst.skew
        switch inst.service {
        case .feedAPI, .checkout: lambda(i, inst, ts, r)
        case .edge: edge(inst, ts, r)
        case .cartFn: vercel(i, inst, ts, r)
        case .chat: chat(i, inst, ts, r)
        case .queueWorker: worker(i, inst, ts, r)
        case .postgres: break
        case .pgbouncer: pgbouncer(i, inst, ts, r)
        }
        postgresSide(i, inst, t, r)
    }

    private mutating func add(_ file: String, _ time: Int64, _ bytes: [UInt8], lines: Int = 1, events: Int = 1) {
        seq += 1
        out.append(PlatformLine(file: file, time: Timestamp(nanos: time), seq: seq, bytes: bytes, lines: lines, events: events))
        truth.count(file, lines: lines, events: events)
    }

    // MARK: AWS Lambda

    private mutating func lambda(_ i: Int, _ inst: Instance, _ ts: Int64, _ r: LineRecord) {
        let node = inst.service == .feedAPI
        if lambdas[i] == nil {
            // Functions writing to a shared log group get streams that name them.
            let hex = inst.id.split(separator: "]").last.map(String.init) ?? inst.id
            let day = inst.id.split(separator: "[").first.map(String.init) ?? ""
            lambdas[i] = LambdaState(stream: day + inst.service.name + "[$LATEST]" + hex, memoryUsed: rng.int(78, 96))
            serverlessInstances.insert(i)
            truth.instancesByDeploy["serverless", default: 0] += 1
        }
        var st = lambdas[i]!
        defer { lambdas[i] = st }
        switch r.event {
        case .instanceStart:
            let initMS = r.initMS ?? 0
            let at = ts - Int64(initMS * 1_000_000)
            let runtime = node ? "nodejs:20.v13" : "python:3.12.v30"
            let arn = "arn:aws:lambda:us-east-1::runtime:" + rng.hex(64)
            lambdaLine(st.stream, at, "INIT_START Runtime Version: \(runtime)\tRuntime Version ARN: \(arn)")
            if node {
                // Module scope runs before any invocation: the runtime stamps it `undefined`.
                let msg = pinoLambda(requestID: "undefined", correlation: nil, level: 30, ms: at / 1_000_000 + 3,
                                     msg: "init: prisma client created", extra: [("pool_max", .int(5))])
                lambdaLine(st.stream, at + 3_000_000, LineWriter.rfc3339String(at + 3_000_000) + "\tundefined\tINFO\t" + msg)
            }
            st.initMS = initMS
            truth.coldStarts += 1
            truth.coldStartsByRuntime[node ? "nodejs20" : "python3.12", default: 0] += 1
        case .requestStart:
            let rid = r.requestID ?? rng.uuid()
            st.currentRequest = rid
            lambdaLine(st.stream, ts, "START RequestId: \(rid) Version: $LATEST")
            app(&st, node, ts, .info, r, "request received", [("method", .string(r.method ?? "")), ("route", .string(r.route ?? ""))])
        case .dbConnect:
            app(&st, node, ts, .info, r, r.msg ?? "connected", [("db_open", .int(r.dbOpen ?? 0))])
        case .dbAcquire:
            if let w = r.waitMS, w > 100 { app(&st, node, ts, .warn, r, r.msg ?? "waited", [("wait_ms", .int(Int(w)))]) }
        case .dbError:
            app(&st, node, ts, .error, r, r.msg ?? "database error", [])
        case .bgStart:
            app(&st, node, ts, .info, r, r.msg ?? "background work", [])
        case .bgEnd:
            // Frozen work resumes inside a later invocation, whose id the runtime puts on the line.
            app(&st, node, ts, r.level, r, r.msg ?? "background work done", [("duration_ms", .int(Int(r.durationMS ?? 0)))])
        case .requestEnd:
            let status = r.status ?? 200
            app(&st, node, ts, r.level, r, r.msg ?? "request completed", [("status", .int(status)), ("duration_ms", .int(Int(r.durationMS ?? 0)))])
            let rid = r.requestID ?? st.currentRequest
            let d = r.durationMS ?? 0
            lambdaLine(st.stream, ts + 200_000, "END RequestId: \(rid)")
            st.memoryUsed = min(st.memoryUsed + rng.int(0, 2), node ? 1000 : 500)
            var report = "REPORT RequestId: \(rid)\tDuration: \(fixed2(d)) ms\tBilled Duration: \(Int(d.rounded(.up))) ms\tMemory Size: \(node ? 1024 : 512) MB\tMax Memory Used: \(st.memoryUsed) MB"
            var events = 1
            if let initMS = st.initMS {
                report += "\tInit Duration: \(fixed2(initMS)) ms"
                st.initMS = nil
                events = 2
            }
            report += "\t"
            var block = Array((PlatformWriter.awsPrefix(ts + 300_000) + " " + st.stream + " " + report).utf8)
            var lines = 1
            if let trace = r.traceID {
                // Lambda's XRAY line continues the REPORT event without a prefix of its own.
                let xray = "XRAY TraceId: 1-\(trace.prefix(8))-\(trace.dropFirst(8))\tSegmentId: \(rng.hex(16))\tSampled: true\t"
                block.append(0x0a)
                block.append(contentsOf: xray.utf8)
                lines = 2
            }
            add(PlatformWriter.functionsFile, ts + 300_000, block, lines: lines, events: events)
        default:
            break
        }
    }

    private mutating func lambdaLine(_ stream: String, _ ts: Int64, _ message: String) {
        add(PlatformWriter.functionsFile, ts, Array((PlatformWriter.awsPrefix(ts) + " " + stream + " " + message).utf8))
    }

    /// An app line: Node.js `time\trequestId\tLEVEL\t{pino-lambda JSON}`, Python
    /// `[LEVEL]\ttime\trequestId\t{structlog JSON}`.
    private mutating func app(_ st: inout LambdaState, _ node: Bool, _ ts: Int64, _ level: Level, _ r: LineRecord,
                              _ msg: String, _ extra: [(String, ExtraValue)]) {
        let rid = st.currentRequest
        let stamp = LineWriter.rfc3339String(ts)
        let text: String
        if node {
            let pino = level == .error ? 50 : level == .warn ? 40 : 30
            let json = pinoLambda(requestID: rid, correlation: r.correlationID, level: pino, ms: ts / 1_000_000, msg: msg, extra: extra)
            let word = level == .error ? "ERROR" : level == .warn ? "WARN" : "INFO"
            text = stamp + "\t" + rid + "\t" + word + "\t" + json
        } else {
            var j = JSONObject()
            j.str("event", msg)
            if let c = r.correlationID { j.str("correlation_id", c) }
            for (k, v) in extra { j.value(k, v) }
            j.str("level", level == .error ? "error" : level == .warn ? "warning" : "info")
            j.str("logger", "checkout.handler")
            let word = level == .error ? "ERROR" : level == .warn ? "WARNING" : "INFO"
            text = "[" + word + "]\t" + stamp + "\t" + rid + "\t" + j.text
        }
        lambdaLine(st.stream, ts, text)
    }

    /// pino-lambda's record: the Lambda request id and the forwarded correlation id on every line.
    private func pinoLambda(requestID: String, correlation: String?, level: Int, ms: Int64, msg: String,
                            extra: [(String, ExtraValue)]) -> String {
        var j = JSONObject()
        if requestID != "undefined" { j.str("awsRequestId", requestID) }
        if let c = correlation { j.str("x-correlation-id", c) }
        j.int("level", level)
        j.int("time", Int(ms))
        for (k, v) in extra { j.value(k, v) }
        j.str("msg", msg)
        return j.text
    }

    // MARK: Cloudflare Workers

    private mutating func edge(_ inst: Instance, _ ts: Int64, _ r: LineRecord) {
        switch r.event {
        case .instanceStart:
            // `wrangler tail` has no isolate id and no cold-start flag.
            truth.lost.edgeColdStarts += 1
        case .requestStart:
            for (k, v) in r.extras where k == "path" { if case .string(let p) = v, let ray = r.requestID { edgePaths[ray] = p } }
        case .requestEnd:
            let ray = r.requestID ?? rng.hex(16) + "-IAD"
            let startNS = ts - Int64((r.durationMS ?? 0) * 1_000_000)
            // Whole milliseconds, as the tail API sends them; the wall time spans them exactly.
            let start = startNS / 1_000_000
            let end = ts / 1_000_000
            let route = r.route ?? "GET /"
            let method = route.split(separator: " ").first.map(String.init) ?? "GET"
            var path = edgePaths.removeValue(forKey: ray) ?? String(route.split(separator: " ").last ?? "/")
            if path.contains(":") { path = "/api/product/" + String(rng.int(1000, 9999)) }
            let colo = String(ray.split(separator: "-").last ?? "IAD")
            let exceeded = r.extras.contains { $0.0 == "outcome" }

            var headers = JSONObject()
            headers.str("accept", "application/json")
            headers.str("cf-connecting-ip", "203.0.113.\(rng.int(2, 250))")
            headers.str("cf-ray", ray)
            headers.str("host", "api.shop.example")
            if let trace = r.traceID, let span = r.spanID { headers.str("traceparent", "00-\(trace)-\(span)-01") }
            headers.str("user-agent", "ShopApp/4.2 (iOS 18.1)")
            if let c = r.correlationID { headers.str("x-request-id", c) }
            var cf = JSONObject()
            cf.str("colo", colo)
            cf.str("country", colo == "FRA" ? "DE" : colo == "SIN" ? "SG" : "US")
            cf.str("httpProtocol", "HTTP/2")
            var request = JSONObject()
            request.str("url", "https://api.shop.example" + path)
            request.str("method", method)
            request.raw("headers", headers.text)
            request.raw("cf", cf.text)
            var event = JSONObject()
            event.raw("request", request.text)
            if !exceeded {
                var response = JSONObject()
                response.int("status", r.status ?? 200)
                event.raw("response", response.text)
            }
            var logs: [String] = []
            func log(_ level: String, _ message: String, _ at: Int64) {
                var l = JSONObject()
                var m: [UInt8] = [UInt8(ascii: "[")]
                LineWriter.string(&m, message)
                m.append(UInt8(ascii: "]"))
                l.raw("message", String(decoding: m, as: UTF8.self))
                l.str("level", level)
                l.int("timestamp", Int(at))
                logs.append(l.text)
            }
            log("log", "\(method) \(path)", start)
            if !exceeded {
                log("log", r.status.map { "origin answered \($0)" } ?? "request completed", end)
            }
            var exceptions = "[]"
            if exceeded {
                var x = JSONObject()
                x.str("name", "Error")
                x.str("message", "Worker exceeded CPU time limit.")
                x.int("timestamp", Int(end))
                exceptions = "[" + x.text + "]"
            }
            var j = JSONObject()
            j.str("outcome", exceeded ? "exceededCpu" : "ok")
            j.str("scriptName", "edge-api")
            j.raw("diagnosticsChannelEvents", "[]")
            j.raw("exceptions", exceptions)
            j.raw("logs", "[" + logs.joined(separator: ",") + "]")
            j.int("eventTimestamp", Int(start))
            j.raw("event", event.text)
            if let c = r.cpuMS { j.int("cpuTime", Int(c.rounded())) }
            j.int("wallTime", Int(end - start))
            add(PlatformWriter.edgeFile, startNS, Array(j.text.utf8), events: 2 + logs.count + (exceeded ? 1 : 0))
        default:
            break
        }
    }

    // MARK: Vercel

    private mutating func vercel(_ i: Int, _ inst: Instance, _ ts: Int64, _ r: LineRecord) {
        if !serverlessInstances.contains(-1) {
            // A log drain names no execution environment: the whole function is one instance to Skein.
            serverlessInstances.insert(-1)
            truth.instancesByDeploy["serverless", default: 0] += 1
        }
        switch r.event {
        case .instanceStart:
            vercelPendingInit[i] = r.initMS ?? 0
            // The cold request's REPORT says `Init Duration`: each start is counted, though all of
            // them happen to the one instance a drain shows. A drain record names no runtime either.
            truth.coldStarts += 1
            truth.coldStartsByRuntime["unknown", default: 0] += 1
        case .requestStart:
            let lambdaID = rng.uuid()
            if let rid = r.requestID { vercelLambdaIDs[rid] = lambdaID }
            drain(ts, r, type: "stdout", message: "START RequestId: \(lambdaID) Version: $LATEST")
            drain(ts, r, type: "stdout", message: appJSON(r, "request received", level: "info"))
        case .dbConnect:
            drain(ts, r, type: "stdout", message: appJSON(r, r.msg ?? "connected", level: "info"))
        case .dbAcquire:
            if let w = r.waitMS, w > 100 { drain(ts, r, type: "stdout", message: appJSON(r, r.msg ?? "waited", level: "warn")) }
        case .dbError:
            drain(ts, r, type: "stderr", message: appJSON(r, r.msg ?? "database error", level: "error"))
        case .requestEnd:
            let status = r.status ?? 200
            drain(ts, r, type: "stdout", message: appJSON(r, r.msg ?? "request completed", level: status >= 500 ? "error" : "info"))
            let lambdaID = r.requestID.flatMap { vercelLambdaIDs.removeValue(forKey: $0) } ?? rng.uuid()
            let d = r.durationMS ?? 0
            var report = "REPORT RequestId: \(lambdaID)\tDuration: \(fixed2(d)) ms\tBilled Duration: \(Int(d.rounded(.up))) ms\tMemory Size: 1024 MB\tMax Memory Used: \(rng.int(90, 130)) MB"
            var events = 1
            if let initMS = vercelPendingInit.removeValue(forKey: i) {
                report += "\tInit Duration: \(fixed2(initMS)) ms"
                events = 2
            }
            drain(ts + 200_000, r, type: "report", message: report, status: status, events: events)
            drain(ts + 300_000, r, type: "request", message: nil, status: status)
        default:
            break
        }
    }

    private func appJSON(_ r: LineRecord, _ msg: String, level: String) -> String {
        var j = JSONObject()
        j.str("level", level)
        j.str("msg", msg)
        if let c = r.correlationID { j.str("correlation_id", c) }
        if let o = r.dbOpen { j.int("db_open", o) }
        return j.text
    }

    private mutating func drain(_ ts: Int64, _ r: LineRecord, type: String, message: String?, status: Int? = nil, events: Int = 1) {
        let ms = Int(ts / 1_000_000)
        var j = JSONObject()
        j.str("id", String(ms) + String(rng.int(100_000_000, 999_999_999)))
        if let message { j.str("message", message) }
        j.int("timestamp", ms)
        j.str("type", type)
        j.str("source", "lambda")
        j.str("projectId", "prj_8Kq2cartfn0Zr1")
        j.str("projectName", "cart-fn")
        j.str("deploymentId", "dpl_7Hx1c2FnV9sQwE3rT5yU8iO0pA4s")
        j.str("host", "cart-fn-shop.vercel.app")
        j.str("path", "/api/cart")
        j.str("entrypoint", "api/cart.ts")
        if let status { j.int("statusCode", status) }
        if let rid = r.requestID { j.str("requestId", rid) }
        if let trace = r.traceID { j.str("traceId", trace) }
        j.str("executionRegion", "iad1")
        j.str("environment", "production")
        j.str("level", type == "stderr" ? "error" : "info")
        if message == nil {
            var p = JSONObject()
            p.int("timestamp", ms)
            p.str("method", "POST")
            p.str("host", "cart-fn-shop.vercel.app")
            p.str("path", "/api/cart")
            p.raw("userAgent", "[\"undici\"]")
            p.str("region", "iad1")
            p.int("statusCode", status ?? 200)
            p.str("vercelCache", "MISS")
            j.raw("proxy", p.text)
        }
        add(PlatformWriter.vercelFile, ts, Array(j.text.utf8), events: events)
    }

    // MARK: servers

    private func podFile(_ inst: Instance) -> String { "k8s/\(inst.id).log" }

    private mutating func serverSeen(_ i: Int) {
        if hosts[i] == nil {
            hosts[i] = "10.0.\(rng.int(1, 9)).\(rng.int(10, 250))"
            // Neither pino nor slog says where it runs: Skein sees the pods, deploy model unknown.
            truth.instancesByDeploy["unknown", default: 0] += 1
        }
    }

    private mutating func chat(_ i: Int, _ inst: Instance, _ ts: Int64, _ r: LineRecord) {
        serverSeen(i)
        var j = JSONObject()
        func head(_ level: Int) {
            j.int("level", level)
            j.int("time", Int(ts / 1_000_000))
            j.int("pid", 1)
            j.str("hostname", inst.id)
            j.str("name", "chat")
        }
        switch r.event {
        case .instanceStart:
            truth.lost.serverColdStarts += 1
            head(30)
            j.str("msg", "chat server listening on :3000")
        case .dbConnect:
            head(30)
            j.str("msg", r.msg ?? "pool connection established")
        case .wsOpen, .wsClose:
            head(30)
            for (k, v) in r.extras { j.value(k == "socket_id" ? "socketId" : k, v) }
            j.str("msg", r.msg ?? "socket")
        case .requestEnd:
            chatRequestCounter[i, default: 0] += 1
            head((r.status ?? 200) >= 500 ? 50 : 30)
            var h = JSONObject()
            h.str("host", "chat.shop.svc.cluster.local:3000")
            h.str("user-agent", "undici")
            if let trace = r.traceID, let span = r.parentSpanID { h.str("traceparent", "00-\(trace)-\(span)-01") }
            if let c = r.correlationID { h.str("x-request-id", c) }
            var req = JSONObject()
            req.int("id", chatRequestCounter[i]!)
            req.str("method", r.method ?? "GET")
            req.str("url", "/api/chat/history?room=\(rng.int(1, 40))")
            req.raw("query", "{}")
            req.raw("params", "{}")
            req.raw("headers", h.text)
            req.str("remoteAddress", "::ffff:10.0.2.\(rng.int(10, 250))")
            req.int("remotePort", rng.int(32_768, 60_999))
            var res = JSONObject()
            res.int("statusCode", r.status ?? 200)
            res.raw("headers", "{\"content-type\":\"application/json; charset=utf-8\",\"x-powered-by\":\"Express\"}")
            j.raw("req", req.text)
            j.raw("res", res.text)
            j.int("responseTime", Int((r.durationMS ?? 0).rounded()))
            j.str("msg", "request completed")
        default:
            return
        }
        add(podFile(inst), ts, Array(j.text.utf8))
    }

    private mutating func worker(_ i: Int, _ inst: Instance, _ ts: Int64, _ r: LineRecord) {
        serverSeen(i)
        var j = JSONObject()
        j.str("time", LineWriter.rfc3339String(ts))
        j.str("level", r.level == .error ? "ERROR" : r.level == .warn ? "WARN" : "INFO")
        switch r.event {
        case .instanceStart:
            truth.lost.serverColdStarts += 1
            j.str("msg", "worker started")
        case .dbConnect:
            j.str("msg", r.msg ?? "pool connection established")
        case .requestStart, .requestEnd:
            j.str("msg", r.msg ?? "job")
            if let c = r.correlationID { j.str("correlation_id", c) }
            if let t = r.traceID { j.str("trace_id", t) }
            if let s = r.spanID { j.str("span_id", s) }
            for (k, v) in r.extras { j.value(k, v) }
            if r.event == .requestEnd { j.str("elapsed", fixed2(r.durationMS ?? 0) + "ms") }
        default:
            return
        }
        j.str("service", "queue-worker")
        j.str("host", inst.id)
        add(podFile(inst), ts, Array(j.text.utf8))
    }

    private mutating func pgbouncer(_ i: Int, _ inst: Instance, _ ts: Int64, _ r: LineRecord) {
        serverSeen(i)
    }

    // MARK: Postgres

    /// What Postgres itself logs about a client's connections, on its own (barely skewed) clock.
    private mutating func postgresSide(_ i: Int, _ inst: Instance, _ t: Int64, _ r: LineRecord) {
        let server = inst.service == .pgbouncer || r.dbPool == "pg"
        switch r.event {
        case .dbConnect where server:
            nextPID += rng.int(1, 7)
            let pid = nextPID
            let port = rng.int(32_768, 60_999)
            let host = clientHost(i)
            pgLine(t, pid, "[unknown]@[unknown] LOG:  connection received: host=\(host) port=\(port)")
            pgLine(t + 2_000_000, pid, "app@shop LOG:  connection authorized: user=app database=shop application_name=\(inst.service.name)")
            pids[i, default: []].append((pid, t, port))
        case .dbDisconnect where server || pids[i] != nil:
            for c in pids[i] ?? [] {
                pgLine(t, c.pid, "app@shop LOG:  disconnection: session time: \(PlatformWriter.sessionTime(t - c.since)) user=app database=shop host=\(clientHost(i)) port=\(c.port)")
            }
            pids[i] = nil
        case .dbError where r.dbError == .tooManyClients:
            nextPID += rng.int(1, 7)
            pgLine(t - 1_000_000, nextPID, "[unknown]@[unknown] LOG:  connection received: host=\(clientHost(i)) port=\(rng.int(32_768, 60_999))")
            pgLine(t, nextPID, "app@shop FATAL:  sorry, too many clients already")
            truth.serverRefusals += 1
            truth.appRefusals += 1
        default:
            break
        }
    }

    private mutating func clientHost(_ i: Int) -> String {
        if let h = hosts[i] { return h }
        let h = "10.0.\(rng.int(1, 9)).\(rng.int(10, 250))"
        hosts[i] = h
        return h
    }

    private mutating func pgLine(_ t: Int64, _ pid: Int, _ rest: String) {
        add(PlatformWriter.postgresFile, t, Array((PlatformWriter.pgTime(t) + " [\(pid)] " + rest).utf8))
    }

    // MARK: formatting

    /// `2026-11-23T10:00:00.123000+00:00`, as `aws logs tail` prints event times.
    static func awsPrefix(_ ns: Int64) -> String {
        var s = LineWriter.rfc3339String(ns)
        s.removeLast()
        return s + "000+00:00"
    }

    /// `2026-11-23 10:00:00.123 UTC` (`%m`).
    static func pgTime(_ ns: Int64) -> String {
        var b: [UInt8] = []
        LineWriter.rfc3339(&b, ns)
        b.removeLast()
        b[10] = UInt8(ascii: " ")
        return String(decoding: b, as: UTF8.self) + " UTC"
    }

    /// `0:01:02.345`.
    static func sessionTime(_ ns: Int64) -> String {
        let ms = max(0, ns / 1_000_000)
        let h = ms / 3_600_000, m = (ms / 60_000) % 60, s = (ms / 1000) % 60, f = ms % 1000
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let frac = f < 10 ? "00\(f)" : f < 100 ? "0\(f)" : "\(f)"
        return "\(h):\(two(m)):\(two(s)).\(frac)"
    }

    private func fixed2(_ v: Double) -> String {
        let hundredths = Int((v * 100).rounded())
        let frac = hundredths % 100
        return "\(hundredths / 100)." + (frac < 10 ? "0\(frac)" : "\(frac)")
    }
}

/// A JSON object written field by field in a fixed order.
struct JSONObject {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var empty = true

    private mutating func key(_ k: String) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        LineWriter.string(&bytes, k)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func str(_ k: String, _ v: String) { key(k); LineWriter.string(&bytes, v) }
    mutating func int(_ k: String, _ v: Int) { key(k); LineWriter.integer(&bytes, v) }
    mutating func raw(_ k: String, _ json: String) { key(k); bytes.append(contentsOf: json.utf8) }
    mutating func value(_ k: String, _ v: ExtraValue) {
        switch v {
        case .string(let s): str(k, s)
        case .int(let n): int(k, n)
        }
    }

    var text: String { String(decoding: bytes + [UInt8(ascii: "}")], as: UTF8.self) }
}

extension LineWriter {
    static func rfc3339String(_ ns: Int64) -> String {
        var b: [UInt8] = []
        rfc3339(&b, ns)
        return String(decoding: b, as: UTF8.self)
    }
}

/// What the platform-format files of a run can tell, counted while writing them.
public struct PlatformTruth: Sendable, Equatable {
    public struct FileCount: Sendable, Equatable {
        public var lines = 0
        public var events = 0
    }
    /// Facts that happened but no platform line carries.
    public struct Lost: Sendable, Equatable {
        /// Isolate starts: `wrangler tail` has neither isolate ids nor a cold-start flag.
        public var edgeColdStarts = 0
        /// Server boots: pino and slog have no cold-start notion.
        public var serverColdStarts = 0
    }
    public var files: [String: FileCount] = [:]
    /// Cold starts Skein can count from these files (per execution environment it can tell apart).
    public var coldStarts = 0
    public var coldStartsByRuntime: [String: Int] = [:]
    /// Instances Skein can tell apart, by the deploy model the format states (`unknown` when it states none).
    public var instancesByDeploy: [String: Int] = ["edge": 1]
    /// `FATAL: sorry, too many clients already` lines in the server log.
    public var serverRefusals = 0
    /// The same refusals as the apps report them.
    public var appRefusals = 0
    public var lost = Lost()

    mutating func count(_ file: String, lines: Int, events: Int) {
        files[file, default: FileCount()].lines += lines
        files[file, default: FileCount()].events += events
    }
}
