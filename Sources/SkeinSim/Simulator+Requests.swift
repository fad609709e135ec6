import SkeinCore

/// A request's path: edge → function or server → (checkout →) Postgres, with a queue job behind checkout.
extension Simulator {
    // MARK: the edge

    mutating func arrival() {
        let mult = plan.multiplier(at: elapsed, duration: durationSeconds)
        let rate = Simulator.steadyRate * mult
        schedule(.arrival, at: clock + max(1, ns(rng.exponential(mean: 1000 / rate))))

        let route = Route(rawValue: rng.pick(weights: Route.publicWeights))!
        let colo = rng.pick(weights: Colo.all.map(\.weight))
        requestCounter += 1
        let corr = "req-" + hex16(SimRandom.mix(requestCounter &+ seed &* 0x9E37_79B9))
        let traced = rng.chance(0.85)
        let ctx = RequestContext(correlationID: corr, traceID: traced ? rng.traceID() : nil, route: route, colo: colo,
                                 checkout: route == .cart && rng.chance(0.25))
        record.traces += 1
        if traced { record.tracesWithTraceID += 1 }

        var hop = Hop(ctx: ctx, service: .edge, route: route)
        hop.spanID = traced ? rng.spanID() : nil
        hop.requestID = rng.hex(16) + "-" + Colo.all[colo].code

        // Workers spreads load over more isolates as a colo gets busier; extra ones idle out.
        let target = 1 + Int(rate * Colo.all[colo].weight / 12)
        var isolate: Int
        var begin = clock
        if isolates[colo].count < target {
            isolate = newInstance(.edge, id: Colo.all[colo].code + "-isolate-" + rng.hex(4), region: Colo.all[colo].code)
            instances[isolate].colo = colo
            instances[isolate].idleTimeout = ns(rng.uniform(30_000, 60_000))
            isolates[colo].append(isolate)
            let initMS = draw(ServiceKind.edge.initRangeMS)
            begin += ns(initMS)
            hop.cold = true
            coldStart(isolate, at: begin, initMS: initMS, hop: hop)
            schedule(.evictIsolate(isolate), at: begin + instances[isolate].idleTimeout)
        } else {
            isolate = isolates[colo][rng.int(0, target - 1)]
        }
        instances[isolate].state = .busy
        instances[isolate].inflight += 1
        instances[isolate].lastUsed = begin
        hop.instance = isolate
        hop.start = begin

        var r = line(hop, .requestStart)
        r.coldStart = hop.cold
        r.msg = "incoming request"
        if route == .product { r.extras = [("path", .string("/api/product/\(rng.int(1000, 9999))"))] }
        emit(isolate, at: begin, r)
        record.requestsByService[ServiceKind.edge.name, default: 0] += 1

        let heavy = route == .product && plan.cpuHeavy(at: elapsed, duration: durationSeconds) && rng.chance(0.4)
        hop.cpuMS = heavy ? rng.uniform(30, 95) : rng.uniform(0.4, 6)
        let h = store(hop)

        if route == .product && (heavy || rng.chance(0.5)) {
            // A cache hit rendered at the edge: no origin call.
            record.edgeOnlyTraces += 1
            let exceeded = hop.cpuMS > 50
            if exceeded { hops[h]!.cpuMS = 50 + rng.uniform(0.1, 2) }
            let end = begin + ns(hops[h]!.cpuMS + rng.uniform(0.5, 3))
            finishEdge(h, at: end, status: exceeded ? 503 : 200, cpuExceeded: exceeded)
            return
        }
        let child: ServiceKind = switch route {
        case .feed, .product: .feedAPI
        case .cart: .cartFn
        default: .chat
        }
        let c = call(from: h, service: child, route: route)
        schedule(.hopArrive(c), at: begin + ns(hop.cpuMS * 0.6 + draw(Colo.all[colo].oneWayMS)))
    }

    func hex16(_ v: UInt64) -> String {
        var out = [UInt8](repeating: 0, count: 16)
        var x = v
        for i in stride(from: 15, through: 0, by: -1) {
            out[i] = SimRandom.hexDigits[Int(x & 0xf)]
            x >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func store(_ hop: Hop) -> Int {
        nextHop += 1
        hops[nextHop] = hop
        return nextHop
    }

    /// A downstream hop of `parent`, with its own span and the platform's request id.
    mutating func call(from parent: Int, service: ServiceKind, route: Route, awaited: Bool = true) -> Int {
        let p = hops[parent]!
        var hop = Hop(ctx: p.ctx, service: service, route: route)
        hop.spanID = p.spanID == nil ? nil : rng.spanID()
        hop.parentSpanID = p.spanID
        hop.parent = awaited ? parent : -1
        switch service {
        case .feedAPI, .checkout: hop.requestID = rng.uuid()
        case .cartFn:
            hop.requestID = "iad1::" + rng.word(5, alphabet: SimRandom.lowerAlphabet) + "-"
                + String((clock + 500_000) / 1_000_000) + "-" + rng.hex(12)
        default: hop.requestID = nil
        }
        return store(hop)
    }

    mutating func finishEdge(_ h: Int, at end: Int64, status: Int, cpuExceeded: Bool = false) {
        guard let hop = hops.removeValue(forKey: h) else { return }
        var r = line(hop, .requestEnd)
        r.status = status
        r.durationMS = Double(end - hop.start) / 1e6
        r.cpuMS = hop.cpuMS
        r.level = level(status)
        if cpuExceeded {
            r.msg = "Worker exceeded CPU time limit."
            r.extras = [("outcome", .string("exceededCpu"))]
            record.edgeCPULimitExceeded += 1
        } else {
            r.msg = "request completed"
        }
        emit(hop.instance, at: end, r)
        instances[hop.instance].inflight -= 1
        instances[hop.instance].lastUsed = max(instances[hop.instance].lastUsed, end)
        record.completedTraces += 1
        if status >= 500 {
            record.errorTraces += 1
            record.errorsByService[ServiceKind.edge.name, default: 0] += 1
        }
    }

    func level(_ status: Int) -> Level { status >= 500 ? .error : status >= 400 ? .warn : .info }

    mutating func evictIsolate(_ i: Int) {
        let inst = instances[i]
        guard inst.state != .gone else { return }
        if inst.inflight > 0 || clock - inst.lastUsed < inst.idleTimeout {
            schedule(.evictIsolate(i), at: max(inst.lastUsed + inst.idleTimeout, clock + 1_000_000_000))
            return
        }
        instances[i].state = .gone
        isolates[inst.colo].removeAll { $0 == i }
        var r = LineRecord(.instanceStop)
        r.msg = "isolate evicted after \(Int(Double(clock - inst.lastUsed) / 1e9)) s idle"
        emit(i, at: clock, r)
        record.instancesStopped += 1
    }

    // MARK: functions and servers

    mutating func hopArrive(_ h: Int) {
        guard var hop = hops[h] else { return }
        let svc = hop.service
        if svc.isServerless {
            if let i = idleFunctions[svc.rawValue].popLast() {
                // Lambda prefers the most recently used instance, so the extra ones idle out.
                hop.instance = i
                instances[i].state = .busy
                hops[h] = hop
                hopBegin(h)
                return
            }
            let i = newInstance(svc, id: functionInstanceID(svc))
            instances[i].state = .initialising
            instances[i].poolTarget = rng.int(1, 5)
            instances[i].idleTimeout = ns(rng.uniform(30_000, 90_000))
            let initMS = draw(svc.initRangeMS)
            hop.instance = i
            hop.cold = true
            hops[h] = hop
            coldStart(i, at: clock + ns(initMS), initMS: initMS, hop: hop)
            schedule(.hopBegin(h), at: clock + ns(initMS))
            return
        }
        if svc == .chat {
            var pod = chatPods[rng.int(0, chatPods.count - 1)]
            for p in chatPods where instances[p].inflight < instances[pod].inflight { pod = p }
            hop.instance = pod
        } else {
            hop.instance = worker
        }
        hops[h] = hop
        hopBegin(h)
    }

    mutating func functionInstanceID(_ svc: ServiceKind) -> String {
        if svc == .cartFn { return "cart-fn-" + rng.hex(10) }
        let (y, m, d) = Timestamp.civil(fromDays: clock / 86_400_000_000_000)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)/\(two(m))/\(two(d))/[$LATEST]" + rng.hex(32)
    }

    mutating func hopBegin(_ h: Int) {
        guard var hop = hops[h] else { return }
        let i = hop.instance
        let svc = hop.service
        hop.start = clock
        if svc.isServerless { instances[i].state = .busy }
        instances[i].inflight += 1
        instances[i].lastUsed = clock
        record.requestsByService[svc.name, default: 0] += 1

        var r = line(hop, .requestStart)
        if svc.isServerless { r.coldStart = hop.cold }
        if svc == .queueWorker { r.extras = [("job_id", .string(rng.hex(12)))] }
        r.msg = svc == .queueWorker ? "job received" : "request received"
        emit(i, at: clock, r)

        if let bg = instances[i].background {
            // The thawed instance runs what the last invocation left behind.
            instances[i].background = nil
            let end = clock + ns(bg.remainingMS)
            var b = LineRecord(.bgEnd)
            b.correlationID = bg.correlationID
            b.traceID = bg.traceID
            b.spanID = bg.spanID
            b.parentSpanID = bg.parentSpanID
            b.requestID = bg.requestID
            b.durationMS = Double(end - bg.started) / 1e6
            b.level = .warn
            b.msg = "analytics flush finished after the instance thawed (frozen \(Int(Double(clock - bg.started) / 1e9)) s)"
            emit(i, at: end, b)
            record.afterResponseFinishedLate += 1
        }

        var c = clock + ns(rng.uniform(0.2, 1.5))
        if svc.isServerless {
            let inst = instances[i]
            let attempts = !inst.poolOpened ? inst.poolTarget : (inst.dbOpen == 0 ? 1 : 0)
            instances[i].poolOpened = true
            for _ in 0..<attempts {
                if plan.pooler {
                    c += ns(rng.uniform(1, 4))
                    instances[i].dbOpen += 1
                    var d = line(hop, .dbConnect)
                    d.route = nil; d.method = nil
                    d.dbPool = "pgbouncer"
                    d.dbOpen = instances[i].dbOpen
                    d.msg = "connected to pgbouncer:6432"
                    emit(i, at: c, d)
                    continue
                }
                c += ns(rng.uniform(6, 22))
                if serverOpen < maxConnections {
                    serverConnections(1, at: c)
                    instances[i].dbOpen += 1
                    var d = line(hop, .dbConnect)
                    d.route = nil; d.method = nil
                    d.dbPool = "pg"
                    d.dbOpen = instances[i].dbOpen
                    d.msg = "connected to postgres:5432"
                    emit(i, at: c, d)
                } else {
                    var e = line(hop, .dbError)
                    e.route = nil; e.method = nil
                    e.dbPool = "pg"
                    e.dbOpen = instances[i].dbOpen
                    e.dbError = .tooManyClients
                    e.level = .error
                    e.msg = svc.runtime == "python3.12"
                        ? "connection to server at \"pg-primary.internal\" (10.0.3.12), port 5432 failed: FATAL:  sorry, too many clients already"
                        : "connect failed: error: sorry, too many clients already"
                    emit(i, at: c, e)
                    record.tooManyClientsErrors += 1
                    if record.firstExhaustionAt == nil { record.firstExhaustionAt = Timestamp(nanos: c) }
                    hop.status = 503
                    hops[h] = hop
                    schedule(.hopFinish(h), at: c + ns(rng.uniform(1, 3)))
                    return
                }
            }
        }
        hops[h] = hop
        schedule(.hopQuery(h), at: c + ns(draw(hop.route.appMS)))
    }

    mutating func hopQuery(_ h: Int) {
        guard var hop = hops[h] else { return }
        let i = hop.instance
        let svc = hop.service
        let load = Double(serverOpen) / Double(maxConnections)
        // Postgres slows down as backends pile up: more processes, more lock and cache contention.
        let q = draw(hop.route.queryMS) * (1 + 3 * load * load * load)
        var wait = rng.uniform(0, 0.3)
        var pool = "pg"
        if svc.isServerless && plan.pooler {
            pool = "pgbouncer"
            wait += poolerWait(query: q)
        } else if !svc.isServerless {
            var k = 0
            for j in instances[i].slots.indices where instances[i].slots[j] < instances[i].slots[k] { k = j }
            let free = instances[i].slots[k]
            if free > clock { wait += Double(free - clock) / 1e6 }
            instances[i].slots[k] = clock + ns(wait + q)
        }
        let acquired = clock + ns(wait)
        let released = acquired + ns(q)
        let dbSpan = hop.spanID == nil ? nil : rng.spanID()

        var a = line(hop, .dbAcquire)
        a.spanID = dbSpan
        a.parentSpanID = hop.spanID
        a.dbPool = pool
        a.dbOpen = instances[i].dbOpen
        a.waitMS = wait
        a.level = wait > 100 ? .warn : .info
        a.msg = wait > 100 ? "waited \(Int(wait)) ms for a connection" : "connection acquired"
        emit(i, at: acquired, a)
        var rl = line(hop, .dbRelease)
        rl.spanID = dbSpan
        rl.parentSpanID = hop.spanID
        rl.dbPool = pool
        rl.dbOpen = instances[i].dbOpen
        rl.durationMS = q
        rl.msg = "query done"
        emit(i, at: released, rl)

        let next = released + ns(rng.uniform(1, 6))
        if svc == .cartFn && hop.ctx.checkout && !hop.childCalled {
            hop.childCalled = true
            hops[h] = hop
            let c = call(from: h, service: .checkout, route: .checkout)
            schedule(.hopArrive(c), at: next + ns(rng.uniform(2, 6)))
            return
        }
        if svc == .checkout {
            let job = call(from: h, service: .queueWorker, route: .job, awaited: false)
            schedule(.hopArrive(job), at: next + ns(rng.uniform(40, 400)))
        }
        if hop.route == .product && rng.chance(0.03) { hop.status = 404 }
        hops[h] = hop
        schedule(.hopFinish(h), at: next)
    }

    /// FIFO wait for one of PgBouncer's server connections; it opens a new one while under its pool size.
    mutating func poolerWait(query q: Double) -> Double {
        var k = -1
        for j in poolerSlots.indices where k < 0 || poolerSlots[j] < poolerSlots[k] { k = j }
        if (k < 0 || poolerSlots[k] > clock) && poolerSlots.count < Simulator.poolerPoolSize {
            let opened = clock + ns(rng.uniform(1, 3))
            poolerSlots.append(opened)
            serverConnections(1, at: opened)
            instances[pgbouncer].dbOpen = poolerSlots.count
            record.poolerServerConnections = max(record.poolerServerConnections, poolerSlots.count)
            var d = LineRecord(.dbConnect)
            d.dbPool = "pgbouncer"
            d.dbOpen = poolerSlots.count
            d.msg = "new server connection to pg-primary:5432 (pool \(poolerSlots.count)/\(Simulator.poolerPoolSize))"
            d.extras = [("pool_mode", .string("transaction"))]
            emit(pgbouncer, at: opened, d)
            k = poolerSlots.count - 1
        }
        let startAt = max(clock, poolerSlots[k])
        poolerSlots[k] = startAt + ns(q)
        return Double(startAt - clock) / 1e6
    }

    mutating func hopFinish(_ h: Int) {
        guard let hop = hops.removeValue(forKey: h) else { return }
        let i = hop.instance
        let svc = hop.service
        let duration = Double(clock - hop.start) / 1e6
        if hop.status >= 500 { record.errorsByService[svc.name, default: 0] += 1 }
        var end = clock
        let job = svc == .queueWorker

        if svc == .feedAPI && hop.route == .feed && hop.status < 500
            && plan.backgroundActive(at: elapsed, duration: durationSeconds) && rng.chance(0.35) {
            // Fire-and-forget: the handler returns, the platform freezes the instance mid-flush.
            var s = line(hop, .responseSent)
            s.status = hop.status
            s.durationMS = duration
            s.msg = "response sent"
            emit(i, at: clock, s)
            var b = line(hop, .bgStart)
            b.route = nil; b.method = nil
            b.level = .info
            b.msg = "flushing analytics batch (not awaited)"
            let bgAt = clock + 200_000
            emit(i, at: bgAt, b)
            instances[i].background = BackgroundWork(
                correlationID: hop.ctx.correlationID, traceID: hop.ctx.traceID, spanID: hop.spanID,
                parentSpanID: hop.parentSpanID, requestID: hop.requestID, started: bgAt,
                remainingMS: rng.uniform(300, 2500))
            record.afterResponse += 1
            end = clock + 500_000
        }
        var r = line(hop, .requestEnd)
        if !job { r.status = hop.status }
        r.durationMS = Double(end - hop.start) / 1e6
        r.level = level(hop.status)
        r.msg = job ? "job done" : hop.status >= 500 ? "request failed: database unavailable" : "request completed"
        emit(i, at: end, r)

        instances[i].inflight -= 1
        instances[i].lastUsed = end
        if svc.isServerless {
            instances[i].state = .idle
            instances[i].idleSince = end
            idleFunctions[svc.rawValue].append(i)
            schedule(.reap(instance: i, since: end), at: end + instances[i].idleTimeout)
        }
        if hop.parent >= 0, let parent = hops[hop.parent] {
            let back = parent.service == .edge ? draw(Colo.all[hop.ctx.colo].oneWayMS) : rng.uniform(2, 6)
            schedule(.childDone(hop.parent, status: hop.status), at: end + ns(back))
        }
    }

    mutating func childDone(_ h: Int, status: Int) {
        guard var hop = hops[h] else { return }
        if hop.service == .edge {
            finishEdge(h, at: clock + ns(hop.cpuMS * 0.4 + rng.uniform(0.3, 2.5)), status: status)
            return
        }
        // cart-fn after checkout answered.
        hop.status = status >= 500 ? 502 : status
        hops[h] = hop
        schedule(.hopFinish(h), at: clock + ns(rng.uniform(1, 4)))
    }

    /// The platform reaps a function instance idle since `since`, closing its pool.
    mutating func reap(_ i: Int, since: Int64) {
        let inst = instances[i]
        guard inst.state == .idle, inst.idleSince == since else { return }
        instances[i].state = .gone
        idleFunctions[inst.service.rawValue].removeAll { $0 == i }
        if inst.dbOpen > 0 {
            if !plan.pooler { serverConnections(-inst.dbOpen, at: clock) }
            var d = LineRecord(.dbDisconnect)
            d.dbPool = plan.pooler ? "pgbouncer" : "pg"
            d.dbOpen = 0
            d.msg = "pool closed: \(inst.dbOpen) connection\(inst.dbOpen == 1 ? "" : "s") released"
            emit(i, at: clock, d)
            instances[i].dbOpen = 0
        }
        if inst.background != nil {
            instances[i].background = nil
            record.afterResponseLost += 1
        }
        var r = LineRecord(.instanceStop)
        r.msg = "instance reaped after \(Int(Double(clock - since) / 1e9)) s idle"
        emit(i, at: clock + 1_000_000, r)
        record.instancesStopped += 1
    }
}
