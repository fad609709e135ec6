import PostgresNIO

/// A simple-query connection on swift-nio: PgBouncer's admin console (`SHOW POOLS`, ...).
///
/// One owner (the sampler's task) sends a query and reads its reply; every wait has a time limit
/// that closes the connection when it passes, so a pooler that stops answering cannot hold the
/// sampler. Plain TCP or a Unix socket only: `sslmode=require` and stricter are refused.
final class ConsoleConnection {
    private let channel: any Channel
    private let inbox: AsyncThrowingStream<BackendMessage, any Error>.Continuation
    private var messages: AsyncThrowingStream<BackendMessage, any Error>.AsyncIterator
    /// `ParameterStatus` values from the login (`server_version`, ...).
    private(set) var parameters: [String: String] = [:]

    private init(channel: any Channel, stream: AsyncThrowingStream<BackendMessage, any Error>,
                 continuation: AsyncThrowingStream<BackendMessage, any Error>.Continuation) {
        self.channel = channel
        self.inbox = continuation
        self.messages = stream.makeAsyncIterator()
    }

    /// Connects and logs in; `timeoutS` bounds the connect and each wait of the login.
    static func connect(_ target: PostgresTarget, applicationName: String = "skein", timeoutS: Double,
                        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> ConsoleConnection {
        switch target.tls {
        case .disable, .allow, .prefer:
            break
        case .require, .verifyCA, .verifyFull:
            throw ConsoleError.unsupportedAuthentication("TLS (sslmode=\(target.tls.rawValue)): the PgBouncer sampler connects in plain text only; use sslmode=disable")
        }
        let (stream, continuation) = AsyncThrowingStream<BackendMessage, any Error>.makeStream()
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(Int64(timeoutS * 1000)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(InboxHandler(continuation))
                }
            }
        let channel: any Channel
        if let dir = target.socketDirectory {
            channel = try await bootstrap.connect(unixDomainSocketPath: "\(dir)/.s.PGSQL.\(target.port)").get()
        } else {
            channel = try await bootstrap.connect(host: target.host, port: target.port).get()
        }
        let c = ConsoleConnection(channel: channel, stream: stream, continuation: continuation)
        do {
            var login = ConsoleLogin(user: target.user, password: target.password, database: target.database,
                                     applicationName: applicationName)
            try await c.send(login.startup)
            loop: while true {
                switch try login.receive(try await c.next(timeoutS: timeoutS)) {
                case .send(let m): try await c.send(m)
                case .wait: continue
                case .ready: break loop
                }
            }
            c.parameters = login.parameters
            return c
        } catch {
            c.close()
            throw error
        }
    }

    /// Sends one simple query and reads its whole reply.
    func query(_ sql: String, timeoutS: Double) async throws -> [ResultSet] {
        try await send(.query(sql))
        var reply = QueryReply()
        while try !reply.receive(try await next(timeoutS: timeoutS)) {}
        return try reply.get()
    }

    /// Says goodbye and closes; safe to call twice.
    func close() {
        let bye = channel.allocator.buffer(bytes: FrontendMessage.terminate.bytes)
        channel.writeAndFlush(bye).whenComplete { [channel] _ in channel.close(promise: nil) }
        inbox.finish()
    }

    private func send(_ m: FrontendMessage) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: m.bytes)).get()
    }

    private func next(timeoutS: Double) async throws -> BackendMessage {
        let inbox = self.inbox, channel = self.channel
        let timer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(timeoutS * 1000))) {
            inbox.finish(throwing: ConsoleError.timeout(seconds: timeoutS))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        guard let m = try await messages.next() else { throw ConsoleError.closed }
        return m
    }
}

/// Cuts the inbound bytes into backend messages and hands them to the connection's owner.
private final class InboxHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let inbox: AsyncThrowingStream<BackendMessage, any Error>.Continuation
    private var decoder = WireDecoder()

    init(_ inbox: AsyncThrowingStream<BackendMessage, any Error>.Continuation) { self.inbox = inbox }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        decoder.append(buffer.readableBytesView)
        do {
            while let m = try decoder.next() { inbox.yield(m) }
        } catch {
            inbox.finish(throwing: ConsoleError.wire(error))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.finish(throwing: ConsoleError.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        inbox.finish(throwing: error)
        context.close(promise: nil)
    }
}
