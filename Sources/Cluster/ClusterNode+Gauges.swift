import PeerTransport
import Placement
import QueueEngine

/// One queue's summary, as its shard's leader holds it.
public struct QueueGauge: Sendable, Equatable {
    public var shard: UInt32
    public var summary: QueueSummary
}

extension ClusterNode {
    /// The summaries of the node's own account's queues whose shard this node leads (so each queue is counted by one node of the
    /// cluster), at most `limit` of them by name per shard: a read of each led shard.
    public func queueGauges(limit: Int) async -> [QueueGauge] {
        var gauges: [QueueGauge] = []
        for replica in router.hostedReplicas where replica.shard != placement.metadataGroup {
            guard replica.status.role == "leader" else { continue }
            let shard = replica.shard.rawValue
            let read = try? await replica.read(atShardTime: { engine, time throws(QueueError) -> [QueueGauge] in
                engine.queueSummaries(.own, limit: limit, at: time).map { QueueGauge(shard: shard, summary: $0) }
            })
            gauges += read ?? []
        }
        return gauges
    }

    /// Summaries of the queues `scope` covers over every shard, at most `limit` per shard, by name; each
    /// from its shard's leader (a linearizable read).
    public func queueSummaries(_ scope: SummaryScope, limit: Int) async throws(QueueError) -> [QueueSummary] {
        var found: [QueueSummary] = []
        for shard in placement.shards {
            found += try await router.query(.queueSummaries(scope, limit: limit), on: shard).summaries
        }
        return found.sorted { $0.name < $1.name }
    }

    /// Per peer: bytes sent and received over its links, and links established, since the node started.
    public var peerCounters: [(peer: NodeID, sentBytes: Int, receivedBytes: Int, linksUp: Int)] {
        transport?.linkCounters ?? []
    }

    /// Each other member node and whether this node's peer link to it is up (empty for a node alone).
    public var peerLinks: [(node: NodeID, isUp: Bool)] {
        guard let transport else { return [] }
        return transport.peers.keys.sorted().map { ($0, transport.isConnected($0)) }
    }
}
