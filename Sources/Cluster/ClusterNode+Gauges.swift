import PeerTransport
import Placement
import QueueEngine

/// One queue's message counts, as its shard's leader holds them.
public struct QueueGauge: Sendable, Equatable {
    public var name: String
    public var shard: UInt32
    /// Messages ready to receive.
    public var visible: Int
    /// Received and not deleted, within their visibility timeout.
    public var inFlight: Int
    /// Sent with a delay that has not ended.
    public var delayed: Int
}

extension ClusterNode {
    /// The message counts of the queues whose shard this node leads (so each queue is counted by one node
    /// of the cluster), at most `limit` of them by name per shard: a read of each led shard.
    public func queueGauges(limit: Int) async -> [QueueGauge] {
        var gauges: [QueueGauge] = []
        for replica in router.hostedReplicas where replica.shard != placement.metadataGroup {
            guard replica.status.role == "leader" else { continue }
            let shard = replica.shard.rawValue
            let read = try? await replica.read(atShardTime: { engine, time throws(QueueError) -> [QueueGauge] in
                var found: [QueueGauge] = []
                for name in engine.queueNames(prefix: nil).prefix(limit) {
                    guard
                        let counts = try? engine.queueAttributes(
                            name,
                            names: [
                                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                "ApproximateNumberOfMessagesDelayed",
                            ], at: time)
                    else { continue }
                    found.append(
                        QueueGauge(
                            name: name, shard: shard, visible: Int(counts["ApproximateNumberOfMessages"] ?? "") ?? 0,
                            inFlight: Int(counts["ApproximateNumberOfMessagesNotVisible"] ?? "") ?? 0,
                            delayed: Int(counts["ApproximateNumberOfMessagesDelayed"] ?? "") ?? 0))
                }
                return found
            })
            gauges += read ?? []
        }
        return gauges
    }

    /// Each other member node and whether this node's peer link to it is up (empty for a node alone).
    public var peerLinks: [(node: NodeID, isUp: Bool)] {
        guard let transport else { return [] }
        return transport.peers.keys.sorted().map { ($0, transport.isConnected($0)) }
    }
}
