import FerryChaos
import NIOCore
import NIOPosix
import Testing

/// The peer-link proxy over real loopback sockets: it relays both ways, drops one direction, and cuts.
@Suite struct ChaosLinkProxyTests {
    /// An echo server: what it reads, it writes back.
    final class Echo: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(data, promise: nil)
        }
    }

    /// Collects what a client reads.
    final class Collect: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var received = ""
        var closed = false
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
        }
        func channelInactive(context: ChannelHandlerContext) { closed = true }
    }

    static let group = MultiThreadedEventLoopGroup.singleton

    func withProxy(_ body: (ChaosLinkProxy, Int) async throws -> Void) async throws {
        let echo = try await ServerBootstrap(group: Self.group)
            .childChannelInitializer { $0.pipeline.addHandler(Echo()) }
            .bind(host: "127.0.0.1", port: 0).get()
        let proxy = ChaosLinkProxy(
            listenPort: 0, targetHost: "127.0.0.1", targetPort: echo.localAddress!.port!, group: Self.group)
        let port = try await proxy.start()
        try await body(proxy, port)
        await proxy.stop()
        try await echo.close()
    }

    func connect(_ port: Int) async throws -> (any Channel, Collect) {
        let collect = Collect()
        let channel = try await ClientBootstrap(group: Self.group)
            .channelInitializer { $0.pipeline.addHandler(collect) }
            .connect(host: "127.0.0.1", port: port).get()
        return (channel, collect)
    }

    func waitUntil(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<200 where !(try await condition()) { try await Task.sleep(for: .milliseconds(10)) }
    }

    func received(_ channel: any Channel, _ collect: Collect) async throws -> String {
        try await channel.eventLoop.submit { collect.received }.get()
    }

    @Test func bytesPassBothWaysUntouched() async throws {
        try await withProxy { _, port in
            let (channel, collect) = try await connect(port)
            try await channel.writeAndFlush(ByteBuffer(string: "hello through the proxy"))
            try await waitUntil { try await received(channel, collect) == "hello through the proxy" }
            #expect(try await received(channel, collect) == "hello through the proxy")
            try await channel.close()
        }
    }

    @Test func aDroppedDirectionLosesOnlyItsBytes() async throws {
        try await withProxy { proxy, port in
            let (channel, collect) = try await connect(port)
            // The echo's answers are dropped: what is sent still arrives (the relayed count grows).
            proxy.state = .init(forward: true, backward: false)
            try await channel.writeAndFlush(ByteBuffer(string: "lost echo"))
            try await waitUntil { proxy.bytes.dropped >= 9 }
            #expect(proxy.bytes.dropped == 9 && proxy.bytes.relayed == 9)
            #expect(try await received(channel, collect) == "")
            proxy.state = .open
            try await channel.writeAndFlush(ByteBuffer(string: "back"))
            try await waitUntil { try await received(channel, collect) == "back" }
            #expect(try await received(channel, collect) == "back")
            try await channel.close()
        }
    }

    @Test func aCutClosesOpenConnectionsAndRefusesNewOnesUntilHealed() async throws {
        try await withProxy { proxy, port in
            let (channel, collect) = try await connect(port)
            try await channel.writeAndFlush(ByteBuffer(string: "x"))
            try await waitUntil { try await received(channel, collect) == "x" }
            proxy.state = .cut
            try await waitUntil { try await channel.eventLoop.submit { collect.closed }.get() }
            #expect(try await channel.eventLoop.submit { collect.closed }.get())
            let (second, secondCollect) = try await connect(port)
            try await waitUntil { try await second.eventLoop.submit { secondCollect.closed }.get() }
            #expect(try await second.eventLoop.submit { secondCollect.closed }.get())
            proxy.state = .open
            let (third, thirdCollect) = try await connect(port)
            try await third.writeAndFlush(ByteBuffer(string: "healed"))
            try await waitUntil { try await received(third, thirdCollect) == "healed" }
            #expect(try await received(third, thirdCollect) == "healed")
            try await third.close()
        }
    }
}
