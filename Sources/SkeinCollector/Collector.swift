import NIOCore
import NIOHTTP1
import NIOPosix
import SkeinSources

/// A listening collector: OTLP/HTTP and log drains over HTTP/1.1, decoded on its own event loops
/// into a bounded queue that the engine's thread drains.
public final class Collector {
    public let state: CollectorState
    /// The address actually bound (the port is the real one when the config asked for 0).
    public let boundPort: Int
    public let name: String
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel

    /// Binds and starts accepting; throws `CollectorError` when it cannot.
    public init(config: CollectorConfig, queue: IngestQueue) throws {
        if !CollectorConfig.isLoopback(config.host) && (config.token ?? "").isEmpty {
            throw CollectorError.tokenRequired(host: config.host)
        }
        let address = config.host.contains(":") ? "[\(config.host)]:\(config.port)" : "\(config.host):\(config.port)"
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, config.threads))
        // The source is named before binding so a failure shows up on its health line too.
        let state = CollectorState(config: config, queue: queue, sourceName: "listen \(address)")
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard state.connections.admit(limit: config.maxConnections) else {
                        state.metrics.countRefusedConnection()
                        try channel.pipeline.syncOperations.addHandler(RefusingHandler(retryAfter: config.retryAfterSeconds))
                        return
                    }
                    channel.closeFuture.whenComplete { _ in state.connections.release() }
                    try CollectorHandler.install(on: channel, state: state)
                }
            }
        do {
            channel = try bootstrap.bind(host: config.host, port: config.port).wait()
        } catch {
            queue.setHealth(.failed(reason: "\(error)"), for: state.source)
            try? group.syncShutdownGracefully()
            throw CollectorError.bind(address: address, reason: "\(error)")
        }
        self.group = group
        self.state = state
        boundPort = channel.localAddress?.port ?? config.port
        name = address
        queue.setHealth(.waiting, for: state.source)
        let source = state.source
        channel.closeFuture.whenComplete { _ in
            if !state.stopping { queue.setHealth(.failed(reason: "listener closed"), for: source) }
        }
    }

    /// Stops accepting: requests still arriving get 503, then the listener and its loops shut down.
    public func close() {
        guard !state.stopping else { return }
        state.stopping = true
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
        state.queue.setHealth(.finished, for: state.source)
    }
}

/// A connection over `maxConnections`: told 503 with `Retry-After` (rather than reset, so an
/// exporter backs off and retries), then closed; whatever it sent is ignored.
final class RefusingHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let retryAfter: Int

    init(retryAfter: Int) { self.retryAfter = retryAfter }

    func channelActive(context: ChannelHandlerContext) {
        let body = "too many connections; retry later\n"
        let text = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nRetry-After: \(retryAfter)\r\nConnection: close\r\n\r\n" + body
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text))).whenComplete { _ in channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
