import Raft
import SegmentLog

/// The voters a shard's group started with, kept in the shard's directory.
///
/// A replica that has no snapshot rebuilds its membership by replaying the membership changes in its log
/// on top of the group's first voters. Once replicas have moved, today's placement is no longer that
/// first set, so it is recorded when the replica is created: the `GENESIS` file, written before the log
/// holds anything and never changed after.
extension ShardStorage {
    /// The file's name: the count of voters (4 bytes), their ids (8 bytes each, ascending, little-endian),
    /// and their CRC-32C.
    package static let genesisFileName = "GENESIS"

    /// The most voters a genesis file names (a group's voters are few).
    static let genesisVotersMax = 64

    /// The group's first voters: those in the genesis file, or, when it is missing (a new replica, or a
    /// directory from before the file existed, whose group never changed membership), `voters`, which are
    /// then recorded. `persisted` is what the log holds: with a snapshot (which carries the membership)
    /// a damaged file does not matter; without one it is refused, as the membership would be a guess.
    package func genesisVoters(recording voters: Set<NodeID>, persisted: PersistedState) throws -> Set<NodeID> {
        let (directory, fileSystem) = (log.directory, log.fileSystem)
        switch Self.readCheckedFile(Self.genesisFileName, directory: directory, fileSystem: fileSystem) {
        case .valid(let bytes):
            if let recorded = Self.decodeGenesis(bytes) { return recorded }
            fallthrough
        case .damaged:
            guard persisted.snapshot != nil else {
                throw ClusterError(
                    description:
                        "the \(Self.genesisFileName) file in \(directory) is damaged and the log has no snapshot: the group's first voters are unknown; move the directory away for the replica to be rebuilt from its peers"
                )
            }
            return voters
        case .missing:
            precondition(!voters.isEmpty && voters.count <= Self.genesisVotersMax, "a group has 1 to 64 voters")
            try Self.replaceCheckedFile(
                Self.genesisFileName, with: Self.encodeGenesis(voters), directory: directory, fileSystem: fileSystem)
            return voters
        }
    }

    static func encodeGenesis(_ voters: Set<NodeID>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendLittleEndian(UInt32(voters.count))
        for voter in voters.sorted() { bytes.appendLittleEndian(voter) }
        return bytes
    }

    static func decodeGenesis(_ bytes: [UInt8]) -> Set<NodeID>? {
        guard bytes.count >= 4 else { return nil }
        return bytes.withUnsafeBytes { raw -> Set<NodeID>? in
            let count = Int(raw.loadLittleEndian(at: 0, as: UInt32.self))
            guard (1...genesisVotersMax).contains(count), bytes.count == 4 + 8 * count else { return nil }
            let voters = Set((0..<count).map { raw.loadLittleEndian(at: 4 + 8 * $0, as: UInt64.self) })
            return voters.count == count && !voters.contains(0) ? voters : nil
        }
    }
}
