import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP relay placed on the peer link between two nodes (the lower id dials the higher: its config names
/// this proxy as the higher node's address), so that `ferry chaos` can partition nodes without root. The
/// bytes are relayed untouched (the link's TLS ends at the nodes). Either direction can be dropped (a
/// one-way partition: the TLS stream breaks when bytes go missing, so the link is torn down and
/// redialed, as a real one-way loss tears a TCP connection), or the link cut (open connections closed,
/// new ones closed as they arrive).
public final class ChaosLinkProxy: Sendable {
    /// What passes: bytes from the dialer to the listener (`forward`), back (`backward`).
    public struct State: Sendable, Equatable {
        public var forward = true
        public var backward = true

        public init(forward: Bool = true, backward: Bool = true) {
            self.forward = forward
            self.backward = backward
        }

        public static let open = State()
        public static let cut = State(forward: false, backward: false)
    }

    private struct Shared {
        var state = State.open
        var connections: [ObjectIdentifier: any Channel] = [:]
        var server: (any Channel)?
        var relayedBytes = 0
        var droppedBytes = 0
    }

    public let listenPort: Int
    public let targetHost: String
    public let targetPort: Int
    private let group: any EventLoopGroup
    private let shared = NIOLockedValueBox(Shared())

    /// A proxy that will listen on `listenPort` (0: any free port, see `start`) and relay to the target.
    public init(listenPort: Int, targetHost: String, targetPort: Int, group: any EventLoopGroup) {
        self.listenPort = listenPort
        self.targetHost = targetHost
        self.targetPort = targetPort
        self.group = group
    }

    /// Starts listening; returns the port.
    public func start() async throws -> Int {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] inbound in
                accept(inbound)
                return inbound.eventLoop.makeSucceededVoidFuture()
            }
        let server = try await bootstrap.bind(host: "127.0.0.1", port: listenPort).get()
        shared.withLockedValue { $0.server = server }
        return server.localAddress?.port ?? listenPort
    }

    public var state: State {
        get { shared.withLockedValue { $0.state } }
        set {
            let toClose: [any Channel] = shared.withLockedValue { shared in
                shared.state = newValue
                guard newValue == .cut else { return [] }
                defer { shared.connections = [:] }
                return Array(shared.connections.values)
            }
            for channel in toClose { channel.close(promise: nil) }
        }
    }

    /// Bytes relayed and dropped so far.
    public var bytes: (relayed: Int, dropped: Int) {
        shared.withLockedValue { ($0.relayedBytes, $0.droppedBytes) }
    }

    public func stop() async {
        let channels = shared.withLockedValue { shared in
            defer { shared.connections = [:] }
            return Array(shared.connections.values) + (shared.server.map { [$0] } ?? [])
        }
        for channel in channels { try? await channel.close() }
    }

    private func accept(_ inbound: any Channel) {
        guard shared.withLockedValue({ $0.state != .cut }) else {
            inbound.close(promise: nil)
            return
        }
        // The dial starts once the inbound side is active (see `RelayHandler.channelActive`); reads before
        // it completes wait in the handler. Both channels share one event loop.
        do {
            try inbound.pipeline.syncOperations.addHandler(RelayHandler(proxy: self, forward: true))
        } catch {
            inbound.close(promise: nil)
        }
    }

    /// Dials the target for an accepted connection whose handler is `forward`. Called on the inbound
    /// channel's event loop when it becomes active: a dial that completes at once (loopback connects can)
    /// then finds the inbound side open.
    fileprivate func dial(for inbound: any Channel, forward: RelayHandler) {
        ClientBootstrap(group: inbound.eventLoop)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(Self.dialTimeout)
            .connect(host: targetHost, port: targetPort)
            .whenComplete { [self] result in
                switch result {
                case .failure:
                    inbound.close(promise: nil)
                case .success(let outbound):
                    let backward = RelayHandler(proxy: self, forward: false)
                    backward.attach(inbound)
                    do {
                        try outbound.pipeline.syncOperations.addHandler(backward)
                    } catch {
                        inbound.close(promise: nil)
                        outbound.close(promise: nil)
                        return
                    }
                    let open = shared.withLockedValue { shared in
                        // Cut meanwhile, or the dialer gave up: nothing to relay.
                        guard shared.state != .cut, !forward.isClosed else { return false }
                        shared.connections[ObjectIdentifier(inbound)] = inbound
                        shared.connections[ObjectIdentifier(outbound)] = outbound
                        return true
                    }
                    guard open else {
                        inbound.close(promise: nil)
                        outbound.close(promise: nil)
                        return
                    }
                    forward.attach(outbound)
                }
            }
    }

    /// How long a dial to the target may take before the accepted connection is closed.
    static let dialTimeout = TimeAmount.seconds(5)

    fileprivate func passes(forward: Bool, bytes: Int) -> Bool {
        shared.withLockedValue { shared in
            let open = forward ? shared.state.forward : shared.state.backward
            if open { shared.relayedBytes += bytes } else { shared.droppedBytes += bytes }
            return open
        }
    }

    fileprivate func forget(_ channel: any Channel) {
        shared.withLockedValue { _ = $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
    }
}

/// Relays what one side reads to its partner (or drops it), and closes the partner when its side closes.
/// Used on its channel's event loop only (the partner shares it).
private final class RelayHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    let proxy: ChaosLinkProxy
    let forward: Bool
    private var partner: (any Channel)?
    /// What arrived before the partner was connected.
    private var waiting: [ByteBuffer] = []
    private var closed = false
    /// The channel went inactive (read on the event loop only).
    var isClosed: Bool { closed }

    init(proxy: ChaosLinkProxy, forward: Bool) {
        self.proxy = proxy
        self.forward = forward
    }

    /// Bytes read before the partner was connected that are kept; past this the connection is closed.
    static let waitingBytesMax = 4 * 1024 * 1024
    private var waitingBytes = 0

    /// The partner is connected: what waited goes to it.
    func attach(_ partner: any Channel) {
        guard !closed else {
            partner.close(promise: nil)
            return
        }
        self.partner = partner
        for buffer in waiting { partner.write(buffer, promise: nil) }
        waiting = []
        partner.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard proxy.passes(forward: forward, bytes: buffer.readableBytes) else { return }
        if let partner {
            partner.writeAndFlush(buffer, promise: nil)
        } else if waitingBytes + buffer.readableBytes <= Self.waitingBytesMax {
            waitingBytes += buffer.readableBytes
            waiting.append(buffer)
        } else {
            context.close(promise: nil)
        }
    }

    /// Backpressure: while this side cannot take more writes, the partner stops reading (NIO's default
    /// write-buffer watermarks bound what one link holds).
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        partner?.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenComplete { _ in }
        context.fireChannelWritabilityChanged()
    }

    /// The dialer's side is open: the forward handler dials the target now.
    func channelActive(context: ChannelHandlerContext) {
        if forward { proxy.dial(for: context.channel, forward: self) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        proxy.forget(context.channel)
        partner?.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
