import PeerTransport
import Placement
import Raft

/// Whether a node can serve what it hosts, as `/ready` answers.
public struct Readiness: Sendable, Equatable {
    /// Why it cannot, one line per group; empty when it can.
    public var reasons: [String]
    /// The groups it hosts as a voter, all of which were checked.
    public var groups: Int

    public var isReady: Bool { reasons.isEmpty }
}

extension ClusterNode {
    /// Ready when every group this node hosts as a voter (its shards and, where it holds one, the metadata
    /// group) has a leader this node can reach — itself, or a node its peer link to is up — and none is
    /// repairing. A replica still moving in (a learner) or waiting to be retired is not counted. As of the
    /// replicas' last tick.
    public var readiness: Readiness {
        let me = configuration.nodeID
        var reasons: [String] = []
        var groups = 0
        for status in replicaStatuses {
            guard status.voters.contains(me) || status.outgoingVoters.contains(me) else { continue }
            groups += 1
            let name =
                status.shard == placement.metadataGroup.rawValue ? "the metadata group" : "shard \(status.shard)"
            if status.isRepairing {
                reasons.append("\(name) is repairing its log from its peers")
            } else if status.leader == 0 {
                reasons.append("\(name) has no leader")
            } else if status.leader != me, transport?.isConnected(status.leader) != true {
                reasons.append("\(name)'s leader, node \(status.leader), is not reachable")
            }
        }
        return Readiness(reasons: reasons, groups: groups)
    }
}
