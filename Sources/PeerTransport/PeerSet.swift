/// The other nodes one node links with, as it last learned them, and the nodes removed from them, whose
/// links it refuses. A value: `PeerTransport` holds it behind its lock and carries out each `Change`.
///
/// The node with the lower id dials. A node that is not a peer and was never removed may still dial in
/// (a node just started, that the cluster has not told this one about yet): its certificate vouches for
/// it. A removed node is refused until it is a peer again.
struct PeerSet: Equatable, Sendable {
    /// What `peersChanged(_:)` changed, each list in ascending node order.
    struct Change: Equatable, Sendable {
        /// Peers that were not peers before.
        var added: [PeerNodeID] = []
        /// Peers that listen somewhere else now.
        var readdressed: [PeerNodeID] = []
        /// Nodes that are peers no more; their links are refused from now on.
        var removed: [PeerNodeID] = []

        var isEmpty: Bool { added.isEmpty && readdressed.isEmpty && removed.isEmpty }
    }

    /// This node.
    let nodeID: PeerNodeID
    /// The peers and where they listen; never this node.
    private(set) var addresses: [PeerNodeID: PeerAddress]
    /// Nodes removed from the peers and not added back.
    private(set) var removed: Set<PeerNodeID> = []

    /// `addresses` less any entry for `nodeID` itself.
    init(nodeID: PeerNodeID, addresses: [PeerNodeID: PeerAddress]) {
        self.nodeID = nodeID
        self.addresses = addresses.filter { $0.key != nodeID }
    }

    /// The peers are now `peers` (an entry for this node itself is ignored). Idempotent: the same set
    /// again changes nothing.
    mutating func peersChanged(_ peers: [PeerNodeID: PeerAddress]) -> Change {
        let peers = peers.filter { $0.key != nodeID }
        var change = Change()
        for (peer, address) in peers {
            if let previous = addresses[peer] {
                if previous != address { change.readdressed.append(peer) }
            } else {
                change.added.append(peer)
            }
        }
        change.removed = addresses.keys.filter { peers[$0] == nil }
        change.added.sort()
        change.readdressed.sort()
        change.removed.sort()
        removed.subtract(change.added)
        removed.formUnion(change.removed)
        addresses = peers
        return change
    }

    /// Whether this node dials `peer`: a peer with a higher id.
    func dials(_ peer: PeerNodeID) -> Bool { peer > nodeID && addresses[peer] != nil }

    /// The peers this node dials, in ascending order.
    var dialed: [PeerNodeID] { addresses.keys.filter { $0 > nodeID }.sorted() }

    /// Whether a link from `node` is refused whatever its certificate: it is this node, or was removed.
    func refusesLinks(from node: PeerNodeID) -> Bool { node == nodeID || removed.contains(node) }

    /// Whether `node` is a peer (a node linked without being one is not).
    func contains(_ node: PeerNodeID) -> Bool { addresses[node] != nil }
}
