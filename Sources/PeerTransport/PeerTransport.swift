import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Mutual-TLS TCP links between this node and every peer: one link per node pair (the lower id dials),
/// carrying framed, checksummed messages for all shards.
///
/// `send` never blocks: frames queue on the link up to `outboundBytesMax`, past which they are dropped and
/// `send` returns false (Raft resends; forwarded commands fail fast and are retried by the caller). A link
/// that closes or falls silent is redialed with exponential backoff.
public final class PeerTransport: Sendable {
    public let configuration: PeerTransportConfiguration
    let logger: Logger
    private let group: any EventLoopGroup
    private let serverContext: NIOSSLContext
    private let clientContext: NIOSSLContext
    private let onFrame: @Sendable (PeerNodeID, PeerFrame) -> Void
    private let onLinkChange: @Sendable (PeerNodeID, Bool) -> Void

    private struct Link {
        var channel: any Channel
        var pendingBytes = 0
    }

    private struct State {
        var links: [PeerNodeID: Link] = [:]
        var serverChannel: (any Channel)?
        var dialers: [Task<Void, Never>] = []
        var isShutDown = false
        var droppedFrameCount = 0
    }

    private let state = Mutex(State())

    /// A transport for `configuration`. `onFrame` is called on an event loop for every frame a peer sends
    /// (never for hellos and pings); `onLinkChange` when a link to a peer comes up (true) or goes (false).
    public init(
        configuration: PeerTransportConfiguration, group: any EventLoopGroup, logger: Logger,
        onFrame: @escaping @Sendable (PeerNodeID, PeerFrame) -> Void,
        onLinkChange: @escaping @Sendable (PeerNodeID, Bool) -> Void = { _, _ in }
    ) throws {
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.onFrame = onFrame
        self.onLinkChange = onLinkChange
        (serverContext, clientContext) = try configuration.tls.configurations()
    }

    /// Starts accepting peer links and dialing the peers with higher ids. Throws if the listen address
    /// cannot be bound.
    public func start() async throws {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.configure(channel, dialing: nil) }
            }
            .bind(host: configuration.listen.host, port: configuration.listen.port).get()
        state.withLock { $0.serverChannel = channel }
        for peer in configuration.peers.keys.sorted() where peer > configuration.nodeID {
            let task = Task { await self.dialLoop(peer) }
            state.withLock { $0.dialers.append(task) }
        }
    }

    /// The port peers connect to (the bound one when the configuration asked for port 0).
    public var listenPort: Int? { state.withLock { $0.serverChannel?.localAddress?.port } }

    private func configure(_ channel: any Channel, dialing peer: PeerNodeID?) throws {
        let sync = channel.pipeline.syncOperations
        if peer == nil {
            try sync.addHandler(NIOSSLServerHandler(context: serverContext))
        } else {
            try sync.addHandler(try NIOSSLClientHandler(context: clientContext, serverHostname: nil))
        }
        try sync.addHandler(ByteToMessageHandler(PeerFrameDecoder(frameBytesMax: configuration.frameBytesMax)))
        try sync.addHandler(MessageToByteHandler(PeerFrameEncoder()))
        try sync.addHandler(PeerConnectionHandler(transport: self, dialing: peer))
    }

    /// Dials `peer` until shutdown, waiting for each link to close before dialing again.
    private func dialLoop(_ peer: PeerNodeID) async {
        guard let address = configuration.peers[peer] else { return }
        var delay = configuration.reconnectDelayMillisecondsMin
        while !Task.isCancelled && !isShutDown {
            do {
                let channel = try await ClientBootstrap(group: group)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .connectTimeout(.milliseconds(Int64(configuration.connectTimeoutMilliseconds)))
                    .channelInitializer { [self] channel in
                        channel.eventLoop.makeCompletedFuture { try self.configure(channel, dialing: peer) }
                    }
                    .connect(host: address.host, port: address.port).get()
                try? await channel.closeFuture.get()
                if state.withLock({ $0.links[peer] == nil }) == false { continue }
                delay = configuration.reconnectDelayMillisecondsMin
            } catch {
                logger.debug("dialing node \(peer) at \(address): \(error)")
            }
            let jittered = delay / 2 + Int.random(in: 0...max(1, delay / 2))
            await pause(milliseconds: jittered)
            delay = min(configuration.reconnectDelayMillisecondsMax, delay * 2)
        }
    }

    /// Waits on an event loop's timer, which runs on the monotonic clock (`NIODeadline`), ended early by
    /// cancellation. Not `Task.sleep`: under a library that fakes the process's clocks (libfaketime, as
    /// `ferry chaos` uses for its clock fault) the concurrency runtime's sleeps were seen never to end,
    /// and a link never redialed.
    private func pause(milliseconds: Int) async {
        let scheduled = group.next().scheduleTask(in: .milliseconds(Int64(milliseconds))) {}
        await withTaskCancellationHandler {
            _ = try? await scheduled.futureResult.get()
        } onCancel: {
            scheduled.cancel()
        }
    }

    private var isShutDown: Bool { state.withLock { $0.isShutDown } }

    func linkEstablished(peer: PeerNodeID, channel: any Channel) {
        let previous = state.withLock { state -> (any Channel)? in
            guard !state.isShutDown else { return channel }
            defer { state.links[peer] = Link(channel: channel) }
            return state.links[peer]?.channel
        }
        previous?.close(promise: nil)
        logger.info("peer link to node \(peer) is up (\(channel.remoteAddress.map { "\($0)" } ?? "?"))")
        onLinkChange(peer, true)
    }

    func linkClosed(peer: PeerNodeID, channel: any Channel) {
        let removed = state.withLock { state -> Bool in
            guard let link = state.links[peer], link.channel === channel else { return false }
            state.links[peer] = nil
            return true
        }
        if removed {
            logger.info("peer link to node \(peer) is down")
            onLinkChange(peer, false)
        }
    }

    func deliver(_ frame: PeerFrame, from peer: PeerNodeID) {
        onFrame(peer, frame)
    }

    /// Whether a link to `peer` is up.
    public func isConnected(_ peer: PeerNodeID) -> Bool { state.withLock { $0.links[peer] != nil } }

    /// Frames dropped so far because a link was down or its queue full.
    public var droppedFrameCount: Int { state.withLock { $0.droppedFrameCount } }

    /// Queues `frames` for `peer`, in order, with one flush. Returns false, sending nothing, when there is
    /// no link to the peer or its queue would pass `outboundBytesMax`.
    @discardableResult
    public func send(_ frames: [PeerFrame], to peer: PeerNodeID) -> Bool {
        guard !frames.isEmpty else { return true }
        let bytes = frames.reduce(0) { $0 + $1.wireSize }
        let limit = configuration.outboundBytesMax
        let channel = state.withLock { state -> (any Channel)? in
            guard let link = state.links[peer], link.pendingBytes + bytes <= limit else {
                state.droppedFrameCount += frames.count
                return nil
            }
            state.links[peer]!.pendingBytes += bytes
            return link.channel
        }
        guard let channel else { return false }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        promise.futureResult.whenComplete { [self] _ in
            state.withLock { state in
                if let link = state.links[peer], link.channel === channel { state.links[peer]!.pendingBytes -= bytes }
            }
        }
        channel.eventLoop.execute {
            for frame in frames.dropLast() { channel.write(frame, promise: nil) }
            channel.writeAndFlush(frames.last!, promise: promise)
        }
        return true
    }

    /// Stops dialing, closes every link and the listener.
    public func shutdown() async {
        let (links, server, dialers) = state.withLock { state in
            state.isShutDown = true
            defer { state.links = [:] }
            return (state.links.values.map(\.channel), state.serverChannel, state.dialers)
        }
        for dialer in dialers { dialer.cancel() }
        for channel in links { try? await channel.close() }
        try? await server?.close()
    }
}
