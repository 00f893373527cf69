import Cluster
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Placement
import QueueEngine

/// The cluster's administration on the SQS port: AWS JSON 1.0 requests whose `X-Amz-Target` is
/// `Ferry.ACTION`, signed as SQS requests are (SigV4 with the node's credentials, when it has any).
/// `ferry cluster status`, `add-node` and `remove-node` use them.
///
/// - `Ferry.DescribeCluster` `{"Local": false}`: the configuration read from the metadata group (nodes,
///   groups with voters and targets, version) and this node's replicas; with `"Local": true` only this
///   node's replicas and the configuration it last read (answers while the metadata group has no leader).
/// - `Ferry.AddNode` `{"Id": 4, "PeerAddress": "host:port", "SqsAddress": "host:port"}`.
/// - `Ferry.RemoveNode` `{"Id": 2}`: the node drains (its replicas move), then is removed.
public struct ClusterAdministration: Sendable {
    let node: ClusterNode

    public init(node: ClusterNode) { self.node = node }

    /// `GET /health` and `GET /ready` (no credentials, as load balancers and orchestrators expect): JSON;
    /// nil for any other path (the SQS API's).
    ///
    /// - `/health`: 200 `{"status": "up", "node": N}` while the process serves HTTP.
    /// - `/ready`: 200 `{"ready": true, "node": N, "groups": G}` when every group this node hosts as a voter
    ///   has a leader it can reach and none is repairing (`ClusterNode.readiness`); else 503 with
    ///   `"ready": false` and `"reasons"`, one per group.
    func probe(path: String) -> Response? {
        let bare = path.prefix { $0 != "?" }
        let node = self.node.configuration.nodeID
        let (status, object): (HTTPResponse.Status, [String: Any])
        switch bare {
        case "/health":
            (status, object) = (.ok, ["status": "up", "node": node])
        case "/ready":
            let readiness = self.node.readiness
            var answer: [String: Any] = ["ready": readiness.isReady, "node": node, "groups": readiness.groups]
            if !readiness.isReady { answer["reasons"] = readiness.reasons }
            (status, object) = (readiness.isReady ? .ok : .serviceUnavailable, answer)
        default:
            return nil
        }
        let bytes = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The JSON answer to `action` with parameters `body` (a JSON object).
    func handle(action: String, body: [UInt8]) async throws(QueueError) -> [UInt8] {
        let parameters =
            body.isEmpty ? [:] : (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        guard let parameters else {
            throw QueueError(.invalidParameterValue, "The request body must be a JSON object.")
        }
        switch action {
        case "DescribeCluster":
            var answer: [String: Any] = [
                "Node": node.configuration.nodeID,
                "Replicas": node.replicaStatuses.map(Self.json),
            ]
            let metadata: ClusterMetadata?
            if parameters["Local"] as? Bool == true {
                metadata = node.knownMetadata
            } else {
                metadata = try await node.readMetadata()
            }
            if let metadata { answer["Cluster"] = Self.json(metadata) }
            return try Self.encode(answer)
        case "AddNode":
            let id = try Self.nodeId(parameters)
            guard let peer = parameters["PeerAddress"] as? String, let sqs = parameters["SqsAddress"] as? String else {
                throw QueueError(.missingParameter, "AddNode needs PeerAddress and SqsAddress (host:port).")
            }
            return try await change(.addNode(id: id, peerAddress: peer, sqsAddress: sqs))
        case "RemoveNode":
            return try await change(.removeNode(try Self.nodeId(parameters)))
        default:
            throw QueueError(.invalidAction, "The action Ferry.\(action) is not valid for this endpoint.")
        }
    }

    private func change(_ command: MetadataCommand) async throws(QueueError) -> [UInt8] {
        if case .failure(let error) = await node.changeCluster(command) { throw error }
        let metadata = try await node.readMetadata()
        return try Self.encode(["Cluster": Self.json(metadata)])
    }

    private static func nodeId(_ parameters: [String: Any]) throws(QueueError) -> NodeID {
        guard let number = parameters["Id"] as? NSNumber, number.int64Value >= 1 else {
            throw QueueError(.missingParameter, "The request needs Id, a node id of at least 1.")
        }
        return NodeID(number.int64Value)
    }

    private static func encode(_ object: [String: Any]) throws(QueueError) -> [UInt8] {
        do {
            return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        } catch {
            throw QueueError(.internalFailure, "The answer could not be encoded: \(error)")
        }
    }

    /// The configuration as JSON: `{"Version", "ShardCount", "ReplicationFactor", "Nodes": [{"Id",
    /// "State", "PeerAddress", "SqsAddress"}], "Groups": [{"Id", "Voters", "Target", "Moving",
    /// "Metadata"}], "ReplicasToMove"}`.
    static func json(_ metadata: ClusterMetadata) -> [String: Any] {
        [
            "Version": metadata.version,
            "ShardCount": metadata.shardCount,
            "ReplicationFactor": metadata.replicationFactor,
            "ReplicasToMove": metadata.replicasToMove,
            "Nodes": metadata.nodeList.map { record -> [String: Any] in
                [
                    "Id": record.id, "State": record.state.rawValue, "PeerAddress": record.peerAddress,
                    "SqsAddress": record.sqsAddress,
                ]
            },
            "Groups": metadata.shards.enumerated().map { index, replicas -> [String: Any] in
                [
                    "Id": index, "Voters": replicas.voters, "Target": replicas.target, "Moving": replicas.isMoving,
                    "Metadata": index == metadata.shardCount,
                ]
            },
        ]
    }

    static func json(_ status: ReplicaStatus) -> [String: Any] {
        [
            "Group": status.shard, "Role": status.role, "Term": status.term, "Leader": status.leader,
            "CommitIndex": status.commitIndex, "AppliedIndex": status.appliedIndex, "LastIndex": status.lastIndex,
            "Voters": status.voters, "OutgoingVoters": status.outgoingVoters, "Learners": status.learners,
            "Repairing": status.isRepairing,
            "Followers": status.followers.map { follower -> [String: Any] in
                [
                    "Node": follower.node, "Match": follower.match, "Learner": follower.isLearner,
                    "RecentActive": follower.recentActive,
                ]
            },
        ]
    }
}
