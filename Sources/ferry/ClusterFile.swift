import ArgumentParser
import Cluster
import Foundation
import PeerTransport
import SegmentLog

/// A node's cluster settings from a JSON file (see `cluster/` for an example); flags override it.
struct ClusterFile: Decodable {
    var clusterName: String?
    var nodeId: UInt64?
    /// Node id → peer address `HOST:PORT`, this node included.
    var nodes: [String: String]?
    /// Node id → SQS address `HOST:PORT` (optional; recorded in the cluster configuration at its creation).
    var sqsNodes: [String: String]?
    var peerListen: String?
    var dataDir: String?
    var host: String?
    var port: Int?
    var shards: Int?
    var replicationFactor: Int?
    var tlsCa: String?
    var tlsCert: String?
    var tlsKey: String?
    var clusterKey: String?
    /// A file of accepted credentials (as `--credentials-file`); the flag adds to it.
    var credentialsFile: String?

    enum CodingKeys: String, CodingKey {
        case clusterName = "cluster_name"
        case nodeId = "node_id"
        case nodes
        case sqsNodes = "sqs_nodes"
        case peerListen = "peer_listen"
        case dataDir = "data_dir"
        case host, port, shards
        case replicationFactor = "replication_factor"
        case tlsCa = "tls_ca"
        case tlsCert = "tls_cert"
        case tlsKey = "tls_key"
        case clusterKey = "cluster_key"
        case credentialsFile = "credentials_file"
    }

    static func load(_ path: String) throws -> ClusterFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read the config file \(path)")
        }
        do {
            return try JSONDecoder().decode(ClusterFile.self, from: data)
        } catch {
            throw ValidationError("config file \(path) is not valid: \(error)")
        }
    }

    /// `HOST:PORT` (or `[V6]:PORT`) as an address.
    static func address(_ text: String, what: String) throws -> PeerAddress {
        guard let address = PeerAddress(parsing: text) else {
            throw ValidationError("\(what) '\(text)' is not HOST:PORT")
        }
        return address
    }
}

/// The cluster key file: 32 random bytes that every node shares (receipt handles are MACed with it, and
/// every replica must compute the same ones).
enum ClusterKeyFile {
    static let bytes = 32

    static func write(_ path: String) throws {
        var generator = SystemRandomNumberGenerator()
        let key = (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
        guard FileManager.default.createFile(atPath: path, contents: Data(key), attributes: [.posixPermissions: 0o600])
        else { throw ValidationError("cannot write \(path)") }
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read the cluster key \(path) (ferry certs writes one)")
        }
        guard data.count == bytes else { throw ValidationError("\(path) holds \(data.count) bytes, expected \(bytes)") }
        return [UInt8](data)
    }
}
