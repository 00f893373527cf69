import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A keep-alive HTTP/1.1 connection driven by callbacks on its channel's event loop: the load
/// generator's hot path. A request is written and its response handed to a callback on the same
/// thread, so a request costs no hop between threads in the generator (`SQSConnection`, the async
/// form, takes two: event loop to task and back).
///
/// Every method must be called on `channel.eventLoop`, and at most one request is outstanding.
final class LoopConnection {
    let endpoint: Endpoint
    let channel: any Channel
    private let handler: ResponseCollector

    private init(endpoint: Endpoint, channel: any Channel, handler: ResponseCollector) {
        self.endpoint = endpoint
        self.channel = channel
        self.handler = handler
    }

    /// Connects from `loop` (the connection's callbacks run there).
    static func connect(
        to endpoint: Endpoint, tls: NIOSSLContext?, on loop: any EventLoop
    ) -> EventLoopFuture<LoopConnection> {
        let serverHostname = endpoint.host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" } ? nil : endpoint.host
        return ClientBootstrap(group: loop)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let handler = try NIOSSLClientHandler(context: tls, serverHostname: serverHostname)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector())
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .flatMapThrowing { channel in
                let handler = try channel.pipeline.syncOperations.handler(type: ResponseCollector.self)
                return LoopConnection(endpoint: endpoint, channel: channel, handler: handler)
            }
    }

    /// False once the server said it will close the connection, or it closed or failed.
    var isReusable: Bool { handler.isReusable }

    /// POSTs `body` to `/` with `headers`; `completion` gets the whole response (bounded) or the
    /// connection's failure, once, on the event loop.
    func post(
        headers: [(name: String, value: String)], body: [UInt8],
        completion: @escaping (Result<SQSConnection.Response, SQSConnection.ConnectionError>) -> Void
    ) {
        channel.eventLoop.assertInEventLoop()
        guard handler.isReusable, let context = handler.context else {
            return completion(.failure(SQSConnection.ConnectionError(description: "the connection is closed")))
        }
        var buffer = context.channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        handler.completion = completion
        let head = SQSConnection.requestHead(headers: headers, bodyBytes: body.count)
        context.write(NIOAny(HTTPClientRequestPart.head(head)), promise: nil)
        context.write(NIOAny(HTTPClientRequestPart.body(.byteBuffer(buffer))), promise: nil)
        context.writeAndFlush(NIOAny(HTTPClientRequestPart.end(nil)), promise: nil)
    }

    /// Closes the connection; an outstanding request's completion gets a failure.
    func close() {
        channel.close(promise: nil)
    }
}

/// Collects one HTTP response at a time and hands it to the waiting completion.
private final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    var context: ChannelHandlerContext?
    var completion: ((Result<SQSConnection.Response, SQSConnection.ConnectionError>) -> Void)?
    var isReusable = true
    private var assembly = ResponseAssembly()

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let whole: (response: SQSConnection.Response, isKeepAlive: Bool)?
        do {
            whole = try assembly.add(unwrapInboundIn(data))
        } catch {
            return fail(context, error.description)
        }
        guard let whole else { return }
        if !whole.isKeepAlive { isReusable = false }
        guard let completion else { return fail(context, "a response to no request") }
        self.completion = nil
        completion(.success(whole.response))
    }

    func channelInactive(context: ChannelHandlerContext) {
        isReusable = false
        finish(with: "connection closed")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, "\(error)")
    }

    private func fail(_ context: ChannelHandlerContext, _ reason: String) {
        isReusable = false
        finish(with: reason)
        context.close(promise: nil)
    }

    private func finish(with reason: String) {
        guard let completion else { return }
        self.completion = nil
        completion(.failure(SQSConnection.ConnectionError(description: reason)))
    }
}
