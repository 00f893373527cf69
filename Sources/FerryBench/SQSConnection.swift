import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One keep-alive HTTP/1.1 connection to an SQS endpoint, used by one worker at a time: a request is
/// written, its response read, then the next request goes out on the same connection.
public final class SQSConnection {
    /// A response: status, the `x-amzn-query-error` header (if any) and the body.
    public struct Response {
        public var status: Int
        public var queryError: String?
        public var body: [UInt8]
    }

    /// The connection closed or answered something that is not HTTP.
    public struct ConnectionError: Error, CustomStringConvertible {
        public var description: String
    }

    public let endpoint: Endpoint
    /// False once the server said it will close the connection (HTTP/1.0 or `Connection: close`):
    /// the worker must open a new one before its next request.
    public private(set) var isReusable = true
    private var inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    private let allocator = ByteBufferAllocator()
    private let channel: any Channel

    private init(
        endpoint: Endpoint, channel: any Channel,
        inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    ) {
        self.endpoint = endpoint
        self.channel = channel
        self.inbound = inbound
        self.outbound = outbound
    }

    /// Opens a connection, runs `body` with it, and closes it.
    public static func withConnection<Result>(
        to endpoint: Endpoint, tls: NIOSSLContext?, group: any EventLoopGroup,
        _ body: (SQSConnection) async throws -> Result
    ) async throws -> Result {
        let serverHostname = endpoint.host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" } ? nil : endpoint.host
        let channel = try await ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .connect(host: endpoint.host, port: endpoint.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let handler = try NIOSSLClientHandler(context: tls, serverHostname: serverHostname)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        let underlying = channel.channel
        return try await channel.executeThenClose { inbound, outbound in
            let connection = SQSConnection(
                endpoint: endpoint, channel: underlying, inbound: inbound.makeAsyncIterator(), outbound: outbound)
            return try await body(connection)
        }
    }

    /// POSTs `body` to `/` with `headers` and reads the whole response (bounded). With a `timeout`, a
    /// response not read in time closes the connection (the request's effect is then unknown).
    public func post(headers: [(name: String, value: String)], body: [UInt8], timeout: Duration? = nil) async throws
        -> Response
    {
        guard isReusable else { throw ConnectionError(description: "the server closed the connection") }
        let channel = self.channel
        let timer = timeout.map { limit in
            channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(limit / .nanoseconds(1)))) {
                channel.close(promise: nil)
            }
        }
        defer { timer?.cancel() }
        let head = Self.requestHead(headers: headers, bodyBytes: body.count)
        var buffer = allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(buffer)), .end(nil)])
        var assembly = ResponseAssembly()
        while let part = try await inbound.next() {
            if let response = try assembly.add(part) {
                if !response.isKeepAlive { isReusable = false }
                return response.response
            }
        }
        throw ConnectionError(description: "connection to \(endpoint.authority) closed")
    }

    /// The head of a POST to `/` with `headers` and a body of `bodyBytes`.
    static func requestHead(headers: [(name: String, value: String)], bodyBytes: Int) -> HTTPRequestHead {
        var httpHeaders = HTTPHeaders()
        for header in headers { httpHeaders.add(name: header.name, value: header.value) }
        httpHeaders.add(name: "content-length", value: String(bodyBytes))
        return HTTPRequestHead(version: .http1_1, method: .POST, uri: "/", headers: httpHeaders)
    }
}

/// One HTTP response as its parts arrive: status, the `x-amzn-query-error` header and the body, bounded by
/// `BenchConfiguration.Limits.responseBytesMax`.
struct ResponseAssembly {
    private var status = 0
    private var isKeepAlive = true
    private var queryError: String?
    private var collected: [UInt8] = []

    /// Adds a part; returns the response (and whether the connection stays open) once it is whole.
    mutating func add(_ part: HTTPClientResponsePart) throws(SQSConnection.ConnectionError) -> (
        response: SQSConnection.Response, isKeepAlive: Bool
    )? {
        switch part {
        case .head(let head):
            status = Int(head.status.code)
            isKeepAlive = head.isKeepAlive
            queryError = head.headers.first(name: "x-amzn-query-error")
        case .body(let chunk):
            guard collected.count + chunk.readableBytes <= BenchConfiguration.Limits.responseBytesMax else {
                throw SQSConnection.ConnectionError(
                    description: "response longer than \(BenchConfiguration.Limits.responseBytesMax) bytes")
            }
            collected.append(contentsOf: chunk.readableBytesView)
        case .end:
            guard status != 0 else {
                throw SQSConnection.ConnectionError(description: "response without a status line")
            }
            defer { self = ResponseAssembly() }
            return (SQSConnection.Response(status: status, queryError: queryError, body: collected), isKeepAlive)
        }
        return nil
    }
}
