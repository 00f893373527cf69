import Crypto
import NIOCore

/// A node of the cluster (1, 2, 3, …; 0 means none). The same numbering as Raft's and Placement's.
public typealias PeerNodeID = UInt64

/// What a frame carries. The transport itself uses `hello` and `ping`; the rest are opaque to it.
public enum PeerFrameKind: UInt8, Sendable, Equatable, CaseIterable {
    /// The first frame each side sends: node id and cluster name.
    case hello = 1
    /// Keeps an idle link alive; a link that hears nothing for the idle timeout is closed.
    case ping = 2
    /// A Raft message for one shard.
    case raft = 3
    /// A client command forwarded to the shard's leader.
    case forward = 4
    /// The leader's answer to a forwarded command that it could not take.
    case forwardRejected = 5
    /// A request for a shard this node does not host, to a node that does (command, receive or query).
    case call = 6
    /// The answer to a `call`.
    case reply = 7
    /// A piece of a snapshot streamed from a shard's leader to a follower (from protocol 5).
    case snapshotChunk = 8
    /// A follower's count of the snapshot bytes it holds, in order (from protocol 5).
    case snapshotAck = 9
}

/// One message between two nodes: a kind, the shard it concerns (0 when none) and a payload.
public struct PeerFrame: Sendable, Equatable {
    public var kind: PeerFrameKind
    public var shard: UInt32
    public var payload: ByteBuffer

    public init(kind: PeerFrameKind, shard: UInt32 = 0, payload: ByteBuffer = ByteBuffer()) {
        self.kind = kind
        self.shard = shard
        self.payload = payload
    }

    /// Bytes the frame takes on the wire.
    public var wireSize: Int { PeerFrameFormat.headerSize + payload.readableBytes }
}

/// Why the bytes on a link are not a valid frame; the link is closed.
public enum PeerFrameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The header names a payload longer than the link accepts.
    case frameTooLarge(bytes: Int, limit: Int)
    /// The header's magic number is wrong: not a Ferry peer, or the stream lost its framing.
    case badMagic(UInt16)
    /// The checksum over the frame does not match.
    case checksumMismatch(stored: UInt32, computed: UInt32)
    /// The frame kind is unknown.
    case unknownKind(UInt8)
    /// A hello frame is malformed.
    case badHello(String)

    public var description: String {
        switch self {
        case .frameTooLarge(let bytes, let limit): "frame of \(bytes) bytes exceeds the limit of \(limit)"
        case .badMagic(let magic): "bad frame magic \(magic)"
        case .checksumMismatch(let stored, let computed): "frame checksum \(stored) != computed \(computed)"
        case .unknownKind(let kind): "unknown frame kind \(kind)"
        case .badHello(let reason): "bad hello: \(reason)"
        }
    }
}

/// The frame layout, little-endian:
///
///     magic u16 (0xFE77) | kind u8 | reserved u8 (0) | shard u32 | payload length u32 | CRC-32C u32 | payload
///
/// The CRC covers the first 12 header bytes and the payload, so a damaged length, kind or shard is
/// caught as surely as a damaged payload.
public enum PeerFrameFormat {
    public static let magic: UInt16 = 0xFE77
    public static let headerSize = 16
}

/// What every node of a cluster must agree on, carried in the hello: a node that disagrees is refused,
/// with a message saying which fact differs, rather than joining and diverging (another shard count
/// places queues elsewhere; another cluster key makes every receipt handle invalid on it). The node set
/// is not among them from protocol 7 on: nodes join and leave a running cluster, and each learns the set
/// from the cluster's configuration, not from its peers' hellos.
public struct PeerClusterFacts: Equatable, Sendable {
    public var shardCount: UInt32
    public var replicationFactor: UInt16
    /// A fingerprint of the cluster key (the first 8 bytes of its SHA-256: it tells keys apart, never the key).
    public var clusterKeyFingerprint: UInt64

    public init(shardCount: UInt32, replicationFactor: UInt16, clusterKeyFingerprint: UInt64) {
        self.shardCount = shardCount
        self.replicationFactor = replicationFactor
        self.clusterKeyFingerprint = clusterKeyFingerprint
    }

    /// Facts from a cluster's configuration.
    public init(shardCount: Int, replicationFactor: Int, clusterKey: [UInt8]) {
        self.init(
            shardCount: UInt32(clamping: shardCount), replicationFactor: UInt16(clamping: replicationFactor),
            clusterKeyFingerprint: SHA256.hash(data: clusterKey).prefix(8).reduce(0) { $0 << 8 | UInt64($1) })
    }

    /// Unknown facts (a transport used alone, in tests): agree with anything.
    public static let unknown = PeerClusterFacts(shardCount: 0, replicationFactor: 0, clusterKeyFingerprint: 0)

    /// Each fact that differs, as "what: here vs there"; empty when they agree.
    public func differences(from peer: PeerClusterFacts) -> [String] {
        guard self != .unknown, peer != .unknown else { return [] }
        var differences: [String] = []
        if shardCount != peer.shardCount {
            differences.append("shard count: \(shardCount) here, \(peer.shardCount) there")
        }
        if replicationFactor != peer.replicationFactor {
            differences.append("replication factor: \(replicationFactor) here, \(peer.replicationFactor) there")
        }
        if clusterKeyFingerprint != peer.clusterKeyFingerprint {
            differences.append("cluster key: the cluster.key files differ")
        }
        return differences
    }

    /// Versions 4 to 6 wrote a node-set fingerprint (u64) between the replication factor and the cluster
    /// key's: written as 0 and skipped when read, so an older node's hello still decodes and is refused by
    /// its version.
    private static func hasNodeSetFingerprint(_ protocolVersion: UInt16) -> Bool { (4...6).contains(protocolVersion) }

    func encode(to buffer: inout ByteBuffer, protocolVersion: UInt16) {
        buffer.writeInteger(shardCount, endianness: .little)
        buffer.writeInteger(replicationFactor, endianness: .little)
        if Self.hasNodeSetFingerprint(protocolVersion) { buffer.writeInteger(UInt64(0), endianness: .little) }
        buffer.writeInteger(clusterKeyFingerprint, endianness: .little)
    }

    init?(reading buffer: inout ByteBuffer, protocolVersion: UInt16) {
        guard let shards = buffer.readInteger(endianness: .little, as: UInt32.self),
            let factor = buffer.readInteger(endianness: .little, as: UInt16.self)
        else { return nil }
        if Self.hasNodeSetFingerprint(protocolVersion) {
            guard buffer.readInteger(endianness: .little, as: UInt64.self) != nil else { return nil }
        }
        guard let key = buffer.readInteger(endianness: .little, as: UInt64.self) else { return nil }
        self.init(shardCount: shards, replicationFactor: factor, clusterKeyFingerprint: key)
    }
}

/// The hello frame's payload: who is speaking, and for which cluster.
public struct PeerHello: Equatable, Sendable {
    /// Longest cluster name accepted, in bytes.
    public static let clusterNameBytesMax = 255

    /// The version of what nodes say to each other (frame kinds, command and snapshot formats) this build
    /// speaks. Nodes of different versions refuse each other: a cluster runs one version at a time.
    /// Version 1 hellos carried no version; 2 added calls between nodes and transfers between shards; 3
    /// carries request identities unique across restarts in proposals, rejections and calls; 4 adds the
    /// cluster's fixed facts to the hello and a version-2 segment format; 5 streams snapshots in chunks
    /// with flow control; 6 writes log entry format 2 and engine snapshot format 3, and carries a moved
    /// message's receive count between shards; 7 drops the node set from the hello's facts (nodes join
    /// and leave a running cluster) and writes engine snapshot format 4 with the cluster configuration; 8
    /// adopts engine rules 3 (queues of several accounts) and asks shards for queue summaries and peeks.
    public static let currentProtocolVersion: UInt16 = 8

    public var nodeID: PeerNodeID
    public var clusterName: String
    public var protocolVersion: UInt16
    /// From version 4 on; `.unknown` before. Versions 4 to 6 also carried a node-set fingerprint, which
    /// is no longer kept.
    public var facts: PeerClusterFacts

    public init(
        nodeID: PeerNodeID, clusterName: String, protocolVersion: UInt16 = Self.currentProtocolVersion,
        facts: PeerClusterFacts = .unknown
    ) {
        self.nodeID = nodeID
        self.clusterName = clusterName
        self.protocolVersion = protocolVersion
        self.facts = facts
    }

    public func encoded() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(nodeID, endianness: .little)
        let name = Array(clusterName.utf8.prefix(Self.clusterNameBytesMax))
        buffer.writeInteger(UInt8(name.count))
        buffer.writeBytes(name)
        buffer.writeInteger(protocolVersion, endianness: .little)
        if protocolVersion >= 4 { facts.encode(to: &buffer, protocolVersion: protocolVersion) }
        return buffer
    }

    public init(decoding payload: ByteBuffer) throws(PeerFrameError) {
        var buffer = payload
        guard let nodeID = buffer.readInteger(endianness: .little, as: UInt64.self), nodeID != 0,
            let length = buffer.readInteger(as: UInt8.self), let name = buffer.readString(length: Int(length))
        else { throw .badHello("\(payload.readableBytes) bytes") }
        // Version 1 ended with the name.
        let version = buffer.readableBytes == 0 ? 1 : buffer.readInteger(endianness: .little, as: UInt16.self)
        guard let version else { throw .badHello("\(payload.readableBytes) bytes") }
        var facts = PeerClusterFacts.unknown
        if version >= 4 {
            guard let read = PeerClusterFacts(reading: &buffer, protocolVersion: version) else {
                throw .badHello("\(payload.readableBytes) bytes")
            }
            facts = read
        }
        guard buffer.readableBytes == 0 else { throw .badHello("\(payload.readableBytes) bytes") }
        self.init(nodeID: nodeID, clusterName: name, protocolVersion: version, facts: facts)
    }
}
