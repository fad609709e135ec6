import NIOCore
import NIOHTTP1

/// One HTTP/1.1 connection of the collector: collects a request's body (bounded), answers it.
///
/// State moves `idle → receiving → idle` for a request it decodes, and `idle → discarding → idle`
/// for one it refuses from the head (auth, content type, declared size) or that grows past the
/// limit: the body is read and thrown away so the connection stays usable, then the refusal is sent.
///
/// Each request is timed from its first byte (`RequestStart`, fired by `RequestStartHandler` ahead
/// of the HTTP decoder) to its answer: past `requestTimeoutSeconds` the client gets 408 and the
/// connection closes, so one trickling a head or a body cannot hold it, or its buffer, for ever.
final class CollectorHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(Request, ByteBuffer?)
        case discarding(Request, CollectorResponse, bytes: Int)
    }

    private struct Request {
        var head: HTTPRequestHead
        var endpoint: Endpoint?
        var headers: [(String, String)]
    }

    private var state = State.idle
    private var ingest: RequestIngest
    private let requestTimeout: TimeAmount
    /// The running request's deadline; nil between requests.
    private var deadline: Scheduled<Void>?
    /// Bumped per request so a deadline that fires late for an answered request does nothing.
    private var generation = 0
    /// The head of the request being received, for answering a timeout in its HTTP version.
    private var currentHead: HTTPRequestHead?
    private var closing = false

    init(state: CollectorState) {
        ingest = RequestIngest(state: state)
        requestTimeout = .seconds(Int64(max(1, state.config.requestTimeoutSeconds)))
    }

    /// A connection's pipeline: request timing, HTTP/1.1 codec, an idle timer, this handler.
    /// Called on the connection's event loop.
    static func install(on channel: Channel, state: CollectorState) throws {
        let ops = channel.pipeline.syncOperations
        try ops.addHandler(RequestStartHandler())
        try ops.configureHTTPServerPipeline(withErrorHandling: true)
        // A connection that sends nothing for this long between requests is closed, so idle
        // clients cannot hold sockets forever.
        try ops.addHandler(IdleStateHandler(readTimeout: .seconds(Int64(state.config.idleTimeoutSeconds))))
        try ops.addHandler(CollectorHandler(state: state))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent {
            // Only a silent connection with no request running is closed here; a running request
            // has its own deadline.
            if idle == .read && deadline == nil { context.close(promise: nil) }
        } else if event is RequestStart {
            startTiming(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Arms the deadline for the request whose bytes just arrived, unless one is already running.
    private func startTiming(context: ChannelHandlerContext) {
        guard deadline == nil, !closing else { return }
        generation &+= 1
        let expected = generation
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: requestTimeout) {
            let (handler, context) = bound.value
            handler.timedOut(context: context, generation: expected)
        }
    }

    private func stopTiming() {
        deadline?.cancel()
        deadline = nil
    }

    /// The request did not complete in time: 408 if its head came, then close either way.
    private func timedOut(context: ChannelHandlerContext, generation expected: Int) {
        guard expected == generation, deadline != nil, !closing else { return }
        deadline = nil
        closing = true
        ingest.countTimeout(endpoint: requestEndpoint)
        state = .idle
        if let head = currentHead {
            var r = CollectorResponse.text(408, "request not completed within \(ingest.state.config.requestTimeoutSeconds) s")
            r.close = true
            respond(context: context, head: head, r)
        } else {
            context.close(promise: nil)
        }
    }

    private var requestEndpoint: Endpoint? {
        switch state {
        case .idle: nil
        case .receiving(let r, _): r.endpoint
        case .discarding(let r, _, _): r.endpoint
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if closing { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            // A pipelined request whose bytes came with the previous one starts its clock here.
            startTiming(context: context)
            currentHead = head
            let headers = head.headers.map { ($0.name, $0.value) }
            let (endpoint, refusal) = ingest.preflight(method: head.method.rawValue, uri: head.uri, headers: headers)
            let request = Request(head: head, endpoint: endpoint, headers: headers)
            let expectsContinue = head.headers["expect"].contains { $0.lowercased() == "100-continue" }
            if var refusal {
                if expectsContinue {
                    // The client waits for our word before sending the body: refuse now and close.
                    refusal.close = true
                    ingest.countRefused(endpoint, status: refusal.status, bytes: 0)
                    state = .idle
                    respond(context: context, head: head, refusal)
                } else {
                    state = .discarding(request, refusal, bytes: 0)
                }
                return
            }
            if expectsContinue {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
            state = .receiving(request, nil)
        case .body(let chunk):
            switch state {
            case .receiving(let request, let buffer):
                let limit = ingest.state.config.maxBody
                let total = (buffer?.readableBytes ?? 0) + chunk.readableBytes
                if total > limit {
                    state = .discarding(request, .text(413, "body is over the limit of \(limit) bytes"), bytes: total)
                } else if var buffer {
                    // Release our reference before appending so the buffer can grow in place.
                    state = .idle
                    var chunk = chunk
                    buffer.writeBuffer(&chunk)
                    state = .receiving(request, buffer)
                } else {
                    // A body that arrives in one piece is decoded where the HTTP decoder put it.
                    state = .receiving(request, chunk)
                }
            case .discarding(let request, let response, let bytes):
                state = .discarding(request, response, bytes: bytes + chunk.readableBytes)
            case .idle:
                break
            }
        case .end:
            switch state {
            case .receiving(let request, let buffer):
                state = .idle
                // `receiving` is entered only for requests whose endpoint preflight found.
                guard let endpoint = request.endpoint else { return }
                let response: CollectorResponse
                if let buffer {
                    response = buffer.withUnsafeReadableBytes { ingest.handle(endpoint, headers: request.headers, body: $0) }
                } else {
                    response = ingest.handle(endpoint, headers: request.headers, body: UnsafeRawBufferPointer(start: nil, count: 0))
                }
                respond(context: context, head: request.head, response)
            case .discarding(let request, let response, let bytes):
                state = .idle
                ingest.countRefused(request.endpoint, status: response.status, bytes: bytes)
                respond(context: context, head: request.head, response)
            case .idle:
                break
            }
        }
    }

    private func respond(context: ChannelHandlerContext, head request: HTTPRequestHead, _ response: CollectorResponse) {
        // The request is answered: its clock stops; the next request's first byte starts another.
        stopTiming()
        currentHead = nil
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        if let r = response.retryAfter { headers.add(name: "Retry-After", value: String(r)) }
        for (name, value) in response.extraHeaders { headers.add(name: name, value: value) }
        let keepAlive = request.isKeepAlive && !response.close
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let head = HTTPResponseHead(version: request.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD {
            var buffer = context.channel.allocator.buffer(capacity: response.body.count)
            buffer.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            closing = true
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// Fired down the pipeline ahead of the bytes of every read, so the collector can time a request
/// from its first byte (a head trickled byte by byte counts too).
struct RequestStart: Sendable {}

/// Sits before the HTTP decoder; tells the handler that bytes arrived. It holds no state.
final class RequestStartHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireUserInboundEventTriggered(RequestStart())
        context.fireChannelRead(data)
    }
}
