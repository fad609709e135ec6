import NIOCore
import NIOHTTP1

/// One HTTP/1.1 connection of the collector: collects a request's body (bounded), answers it.
///
/// State moves `idle → receiving → idle` for a request it decodes, and `idle → discarding → idle`
/// for one it refuses from the head (auth, content type, declared size) or that grows past the
/// limit: the body is read and thrown away so the connection stays usable, then the refusal is sent.
final class CollectorHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(Request, ByteBuffer)
        case discarding(Request, CollectorResponse, bytes: Int)
    }

    private struct Request {
        var head: HTTPRequestHead
        var endpoint: Endpoint?
        var headers: [(String, String)]
    }

    private var state = State.idle
    private var ingest: RequestIngest

    init(state: CollectorState) {
        ingest = RequestIngest(state: state)
    }

    /// A connection's pipeline: HTTP/1.1 codec, an idle timer, this handler. Called on its event loop.
    static func install(on channel: Channel, state: CollectorState) throws {
        let ops = channel.pipeline.syncOperations
        try ops.configureHTTPServerPipeline(withErrorHandling: true)
        // A connection that sends nothing for this long is closed, so idle or stalled clients
        // cannot hold sockets (and half-read bodies) forever.
        try ops.addHandler(IdleStateHandler(readTimeout: .seconds(Int64(state.config.idleTimeoutSeconds))))
        try ops.addHandler(CollectorHandler(state: state))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let headers = head.headers.map { ($0.name, $0.value) }
            let (endpoint, refusal) = ingest.preflight(method: head.method.rawValue, uri: head.uri, headers: headers)
            let request = Request(head: head, endpoint: endpoint, headers: headers)
            let expectsContinue = head.headers["expect"].contains { $0.lowercased() == "100-continue" }
            if var refusal {
                if expectsContinue {
                    // The client waits for our word before sending the body: refuse now and close.
                    refusal.close = true
                    ingest.countRefused(endpoint, status: refusal.status, bytes: 0)
                    respond(context: context, head: head, refusal)
                    state = .idle
                } else {
                    state = .discarding(request, refusal, bytes: 0)
                }
                return
            }
            if expectsContinue {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
            }
            state = .receiving(request, context.channel.allocator.buffer(capacity: 0))
        case .body(let chunk):
            switch state {
            case .receiving(let request, var buffer):
                let limit = ingest.state.config.maxBody
                if buffer.readableBytes + chunk.readableBytes > limit {
                    let total = buffer.readableBytes + chunk.readableBytes
                    state = .discarding(request, .text(413, "body is over the limit of \(limit) bytes"), bytes: total)
                } else {
                    // Release our reference before appending so the buffer can grow in place.
                    state = .idle
                    var chunk = chunk
                    buffer.writeBuffer(&chunk)
                    state = .receiving(request, buffer)
                }
            case .discarding(let request, let response, let bytes):
                state = .discarding(request, response, bytes: bytes + chunk.readableBytes)
            case .idle:
                break
            }
        case .end:
            switch state {
            case .receiving(let request, var buffer):
                state = .idle
                let body = buffer.readBytes(length: buffer.readableBytes) ?? []
                // `receiving` is entered only for requests whose endpoint preflight found.
                guard let endpoint = request.endpoint else { return }
                let response = ingest.handle(endpoint, headers: request.headers, body: body)
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
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        if let r = response.retryAfter { headers.add(name: "Retry-After", value: String(r)) }
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
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
