import ArgumentParser
import Cluster
import Foundation
import Logging
import PeerTransport
import Placement
import SegmentLog

extension Serve {
    /// The node's cluster settings: the config file, then flags. Without other nodes it is a cluster of one.
    func clusterConfiguration(file: ClusterFile?, dataDir: String, logger: Logger) throws -> ClusterConfiguration {
        let nodeID = nodeId ?? file?.nodeId ?? 1
        var addresses: [UInt64: PeerAddress] = [:]
        for (id, address) in file?.nodes ?? [:] {
            guard let id = UInt64(id), id >= 1 else {
                throw ValidationError("config node id '\(id)' is not a number ≥ 1")
            }
            addresses[id] = try ClusterFile.address(address, what: "node \(id)'s address")
        }
        for text in nodeAddresses {
            let parts = text.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let id = UInt64(parts[0]), id >= 1 else {
                throw ValidationError("--node takes ID=HOST:PORT, got '\(text)'")
            }
            addresses[id] = try ClusterFile.address(String(parts[1]), what: "--node \(id)")
        }
        var cluster: ClusterConfiguration
        if addresses.keys.contains(where: { $0 != nodeID }) {
            guard let own = addresses[nodeID] else {
                throw ValidationError("node \(nodeID) is not among the nodes \(addresses.keys.sorted())")
            }
            let certs = self.certs ?? "certs"
            func path(_ explicit: String?, _ name: String) -> String {
                explicit ?? (certs as NSString).appendingPathComponent(name)
            }
            let tls = try PeerTLSMaterial(
                caPath: path(file?.tlsCa, "ca.pem"), certificatePath: path(file?.tlsCert, "node-\(nodeID).pem"),
                privateKeyPath: path(file?.tlsKey, "node-\(nodeID)-key.pem"))
            let listen =
                try peerListen.map { try ClusterFile.address($0, what: "--peer-listen") }
                ?? file?.peerListen.map { try ClusterFile.address($0, what: "peer_listen") } ?? own
            var peers = addresses
            peers[nodeID] = nil
            cluster = ClusterConfiguration(
                dataDirectory: dataDir, receiptHandleKey: try ClusterKeyFile.read(path(file?.clusterKey, "cluster.key"))
            )
            cluster.transport = PeerTransportConfiguration(
                nodeID: nodeID, clusterName: clusterName ?? file?.clusterName ?? "ferry", listen: listen, peers: peers,
                tls: tls)
            cluster.nodes = addresses.keys.sorted()
            cluster.peerAddresses = addresses.mapValues(\.description)
            for (id, address) in file?.sqsNodes ?? [:] {
                guard let id = UInt64(id), id >= 1 else {
                    throw ValidationError("config sqs_nodes id '\(id)' is not a number ≥ 1")
                }
                cluster.sqsAddresses[id] = try ClusterFile.address(address, what: "node \(id)'s SQS address")
                    .description
            }
            cluster.join = join
        } else {
            if join {
                throw ValidationError("--join needs the addresses of nodes of the cluster (--node or the config file)")
            }
            cluster = ClusterConfiguration(
                dataDirectory: dataDir, receiptHandleKey: try ReceiptKey.load(dataDirectory: dataDir))
            cluster.nodes = [nodeID]
        }
        cluster.nodeID = nodeID
        // Alone, one shard: there is nothing to spread shards over.
        cluster.shardCount = shards ?? file?.shards ?? (cluster.nodes.count == 1 ? 1 : 8)
        let shardCount = cluster.shardCount
        try CreationRecord.check(dataDirectory: dataDir, file: "shard-count", value: "\(shardCount)") { stored in
            "\(dataDir) was created with \(stored) shards; this start asks for \(shardCount) (pass --shards \(stored))"
        }
        cluster.replicationFactor = replicationFactor ?? file?.replicationFactor ?? 3
        cluster.accountId = accountId
        cluster.region = region
        cluster.shard.snapshotEntries = UInt64(snapshotEvery)
        applyCapacity(to: &cluster.shard)
        cluster.shard.snapshotBytesPerSecondMax = snapshotMibPerSecond << 20
        cluster.membership.movingShardsMax = movingShardsMax
        switch fsync {
        case "batch":
            cluster.syncPolicy = .deferred
            cluster.shard.syncIntervalMilliseconds = fsyncIntervalMs
        case "never":
            cluster.syncPolicy = .deferred
        default:
            cluster.syncPolicy = .always
        }
        do {
            try cluster.validate()
        } catch {
            throw ValidationError(error.description)
        }
        return cluster
    }
}

/// A fact fixed when a node's data directory is created, recorded in a file of it: written at the first
/// start, compared at every later one: the shard count (`shard-count`: a queue's shard is a hash of its
/// name modulo the count, so another count would lose every queue). The node set is not recorded: nodes
/// join and leave a running cluster, and its configuration is the metadata group's.
enum CreationRecord {
    static func check(
        dataDirectory: String, file: String, value: String, mismatch: (_ stored: String) -> String
    ) throws {
        let manager = FileManager.default
        try manager.createDirectory(
            atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = (dataDirectory as NSString).appendingPathComponent(file)
        if let data = manager.contents(atPath: path) {
            let stored = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard stored == value else { throw ValidationError(mismatch(stored)) }
            return
        }
        guard
            manager.createFile(
                atPath: path, contents: Data("\(value)\n".utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw ValidationError("cannot write \(path)")
        }
    }
}
