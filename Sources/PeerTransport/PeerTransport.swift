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
///
/// The peers may change while the node runs (`setPeers`, in `PeerTransport+Peers.swift`): nodes join and
/// leave a running cluster. A node that is not a peer yet may dial in if its certificate names it; a node
/// removed from the peers is refused.
public final class PeerTransport: Sendable {
    public let configuration: PeerTransportConfiguration
    let logger: Logger
    let group: any EventLoopGroup
    private let serverContext: NIOSSLContext
    private let clientContext: NIOSSLContext
    private let onFrame: @Sendable (PeerNodeID, PeerFrame) -> Void
    let onLinkChange: @Sendable (PeerNodeID, Bool) -> Void

    struct Link {
        var channel: any Channel
        var mark: PeerLinkMark
        var pendingBytes = 0
    }

    /// The one dial loop of a peer this node dials, from its start until it ends (peer removed, shutdown).
    struct Dialer {
        var task: Task<Void, Never>
        /// The channel the loop connected, until it closes, and the address it dialed.
        var channel: (any Channel)?
        var channelAddress: PeerAddress?
        /// The redial wait in progress; cancelled to end it early when the peer's address changes or the
        /// peer is removed.
        var pause: Scheduled<Void>?
    }

    /// Internal, not private, for the extensions in other files.
    struct State {
        var peers: PeerSet
        var links: [PeerNodeID: Link] = [:]
        var serverChannel: (any Channel)?
        /// At most one per peer: a loop is started only where there is none, and removes itself as it ends.
        var dialers: [PeerNodeID: Dialer] = [:]
        var isStarted = false
        var isShutDown = false
        var droppedFrameCount = 0
        var refusedLinkCount = 0
        /// Per peer, over every link to it since the transport started (kept after a peer is removed).
        var counters: [PeerNodeID: PeerLinkCounters] = [:]
    }

    let state: Mutex<State>

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
        self.state = Mutex(State(peers: PeerSet(nodeID: configuration.nodeID, addresses: configuration.peers)))
        (serverContext, clientContext) = try configuration.tls.configurations()
    }

    /// Starts accepting peer links and dialing the peers with higher ids (those known now: the
    /// configuration's, or the last `setPeers`). Throws if the listen address cannot be bound.
    public func start() async throws {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.configure(channel, dialing: nil) }
            }
            .bind(host: configuration.listen.host, port: configuration.listen.port).get()
        state.withLock { state in
            state.serverChannel = channel
            state.isStarted = true
            startDialLoops(&state)
        }
    }

    /// The port peers connect to (the bound one when the configuration asked for port 0).
    public var listenPort: Int? { state.withLock { $0.serverChannel?.localAddress?.port } }

    func configure(_ channel: any Channel, dialing peer: PeerNodeID?) throws {
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

    /// Makes `channel` the link to `peer`, whose hello and certificate checked out, replacing any other;
    /// returns the link's mark. Returns nil, keeping nothing, when the peer was removed or the transport is
    /// shutting down (the handler checked before, but `setPeers` or `shutdown` may have come in between):
    /// the caller closes it.
    func linkEstablished(peer: PeerNodeID, channel: any Channel) -> PeerLinkMark? {
        let (link, isPeer, previous) = state.withLock { state -> (Link?, Bool, (any Channel)?) in
            guard !state.isShutDown, !state.peers.refusesLinks(from: peer) else {
                state.refusedLinkCount += 1
                return (nil, false, nil)
            }
            let counters = state.counters[peer] ?? PeerLinkCounters()
            state.counters[peer] = counters
            counters.linksUp.add(1, ordering: .relaxed)
            let link = Link(channel: channel, mark: PeerLinkMark(counters: counters))
            defer { state.links[peer] = link }
            return (link, state.peers.contains(peer), state.links[peer]?.channel)
        }
        guard let link else { return nil }
        previous?.close(promise: nil)
        logger.info(
            "peer link to node \(peer) is up (\(channel.remoteAddress.map { "\($0)" } ?? "?"))\(isPeer ? "" : "; not among this node's peers yet")"
        )
        onLinkChange(peer, true)
        return link.mark
    }

    /// Whether a link from `node` is refused whatever its certificate: this node itself, or a removed peer.
    func refusesLinks(from node: PeerNodeID) -> Bool { state.withLock { $0.peers.refusesLinks(from: node) } }

    /// Counts a link refused after its hello (another cluster, version or configuration; a removed peer).
    func linkRefused() { state.withLock { $0.refusedLinkCount += 1 } }

    /// Links refused so far after their hello: what a test waits for to know a refused node has tried.
    var refusedLinkCount: Int { state.withLock { $0.refusedLinkCount } }

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

    /// Per peer: bytes of frames queued to it and received from it, and links established (the first, then
    /// each reconnection), since the transport started.
    public var linkCounters: [(peer: PeerNodeID, sentBytes: Int, receivedBytes: Int, linksUp: Int)] {
        state.withLock { $0.counters }.sorted { $0.key < $1.key }.map { peer, counters in
            (
                peer, counters.sentBytes.load(ordering: .relaxed), counters.receivedBytes.load(ordering: .relaxed),
                counters.linksUp.load(ordering: .relaxed)
            )
        }
    }

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
            link.mark.counters.sentBytes.add(bytes, ordering: .relaxed)
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

    /// Stops dialing, closes every link and the listener. The dial loops end soon after (each ends its
    /// redial wait at once); none starts again.
    public func shutdown() async {
        let (links, server, dialers) = state.withLock { state in
            state.isShutDown = true
            defer { state.links = [:] }
            return (state.links.values.map(\.channel), state.serverChannel, Array(state.dialers.values))
        }
        for dialer in dialers { dialer.task.cancel() }
        for channel in links + dialers.compactMap(\.channel) { try? await channel.close() }
        try? await server?.close()
    }
}

/// A link's mark, shared by the transport and the link's handler: set when the transport drops the link
/// (its peer removed), so the handler delivers nothing more from it even before its close is carried out.
final class PeerLinkMark: Sendable {
    private let dropped = Atomic<Bool>(false)
    /// The peer's counters, which the link adds to.
    let counters: PeerLinkCounters

    init(counters: PeerLinkCounters) { self.counters = counters }

    var isDropped: Bool { dropped.load(ordering: .acquiring) }

    func drop() { dropped.store(true, ordering: .releasing) }
}

/// What the links to one peer carried, for metrics.
final class PeerLinkCounters: Sendable {
    let sentBytes = Atomic<Int>(0)
    let receivedBytes = Atomic<Int>(0)
    let linksUp = Atomic<Int>(0)
}
