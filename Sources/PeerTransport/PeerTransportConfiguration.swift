/// Where a peer listens.
public struct PeerAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `HOST:PORT` or `[V6]:PORT` with a port in 1...65535; nil otherwise.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (1...65_535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.init(host: host, port: port)
    }
}

/// The settings of one node's peer links.
public struct PeerTransportConfiguration: Sendable {
    /// This node's id (≥ 1).
    public var nodeID: PeerNodeID
    /// A name every node of the cluster shares; a peer of another cluster is refused.
    public var clusterName: String
    /// Where this node accepts peer links.
    public var listen: PeerAddress
    /// The other nodes and where they listen, at start; `PeerTransport.setPeers` changes them while the
    /// node runs. The node with the lower id dials; the other accepts.
    public var peers: [PeerNodeID: PeerAddress]
    /// The cluster CA, and this node's certificate and key.
    public var tls: PeerTLSMaterial
    /// What every node must agree on (shard count, replication factor, cluster key), sent in the hello;
    /// a peer that disagrees is refused naming what differs. Default: unknown (agrees).
    public var facts = PeerClusterFacts.unknown
    /// Longest frame payload accepted, in bytes; default 256 MiB (snapshots travel in chunks of
    /// `ShardSettings.snapshotChunkBytes`; a batch of entries is bounded by Raft's message size).
    public var frameBytesMax = 256 << 20
    /// Bytes queued for one peer and not yet written to its socket; past this, frames for it are
    /// dropped (Raft resends) and `send` says so. Default 64 MiB.
    public var outboundBytesMax = 64 << 20
    /// First delay before redialing a peer, in milliseconds; doubles per failure up to the maximum.
    public var reconnectDelayMillisecondsMin = 50
    /// Longest delay before redialing a peer, in milliseconds.
    public var reconnectDelayMillisecondsMax = 2_000
    /// How long a dial may take, in milliseconds.
    public var connectTimeoutMilliseconds = 2_000
    /// How often an idle link sends a ping, in milliseconds.
    public var pingIntervalMilliseconds = 500
    /// A link that hears nothing for this long is closed and redialed, in milliseconds.
    public var idleTimeoutMilliseconds = 3_000

    public init(
        nodeID: PeerNodeID, clusterName: String, listen: PeerAddress, peers: [PeerNodeID: PeerAddress],
        tls: PeerTLSMaterial
    ) {
        self.nodeID = nodeID
        self.clusterName = clusterName
        self.listen = listen
        self.peers = peers
        self.tls = tls
    }
}
