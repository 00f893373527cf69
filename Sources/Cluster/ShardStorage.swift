import NIOCore
import Raft
import SegmentLog

/// One shard's Raft storage on a `SegmentLog`: entries (their kind as the payload's first byte), hard
/// state, and snapshots whose data is the membership followed by the engine snapshot.
package final class ShardStorage {
    package let log: SegmentLog

    package init(log: SegmentLog) {
        self.log = log
    }

    /// What Raft needs to restart: hard state, newest snapshot, and every entry after it. Term and vote
    /// are the newer of the log's and the term file's (damage that cost the log its newest term leaves
    /// the term file; a damaged term file leaves the log).
    package func load() throws -> PersistedState {
        let stored = log.hardState
        var persisted = PersistedState(
            hardState: RaftHardState(term: stored.term, votedFor: stored.vote, commit: stored.commit))
        if let kept = Self.readTermFile(directory: log.directory, fileSystem: log.fileSystem),
            kept.term > stored.term || kept.term == stored.term && stored.vote == 0
        {
            persisted.hardState.term = kept.term
            persisted.hardState.votedFor = kept.vote
        }
        if let snapshot = try log.loadSnapshot() {
            persisted.snapshot = try Self.decodeSnapshot(snapshot)
        }
        var next = log.firstIndex
        while next <= log.lastIndex {
            let chunk = try log.entries(from: next, to: log.lastIndex + 1, bytesMax: 32 << 20)
            for entry in chunk { persisted.entries.append(try Self.decodeEntry(entry)) }
            next = (chunk.last?.index ?? log.lastIndex) + 1
        }
        if let snapshot = persisted.snapshot {
            persisted.hardState.commit = max(persisted.hardState.commit, snapshot.index)
        }
        // A salvaged log may end before the commit index it had recorded: repair re-fetches the rest.
        let lastIndex = persisted.entries.last?.index ?? persisted.snapshot?.index ?? 0
        persisted.hardState.commit = min(persisted.hardState.commit, lastIndex)
        return persisted
    }

    /// Persists a driver's Ready: snapshot, entries and hard state, with one fdatasync for the entries
    /// and hard state together. A new term or vote is synced whatever the log's sync policy: a node must
    /// not vote twice in one term after a power loss. Then one more small synced write (the same hard
    /// state) follows it: damage found later in the write that holds the vote is vouched for as
    /// corruption (the replica repairs) instead of being cut as a torn write, which would drop the vote.
    ///
    /// Term and vote are also written to the term file: a salvage that cuts damaged log records (the
    /// replica then repairs from its peers) may cut the records of the newest term, and a replica whose
    /// term went back could acknowledge a deposed leader's appends and help it commit over entries a
    /// newer leader committed with this replica's help.
    package func persist(_ shardReady: ShardReady) throws {
        let ready = shardReady.ready
        try persist(snapshot: ready.snapshot, entries: ready.entries, hardState: ready.hardState)
        guard shardReady.termOrVoteChanged else { return }
        if log.options.syncPolicy == .deferred { try log.synchronize() }
        try log.setHardState(log.hardState, synchronizing: true)
        if log.options.syncPolicy == .deferred { try log.synchronize() }
        try writeTermFile(term: log.hardState.term, vote: log.hardState.vote)
    }

    /// The term file's name in a shard's directory: term and vote (8 bytes each, little-endian) and their
    /// CRC-32C.
    package static let termFileName = "TERM"

    /// Replaces the term file (see `replaceCheckedFile`).
    private func writeTermFile(term: UInt64, vote: UInt64) throws {
        var bytes = [UInt8]()
        for value in [term, vote] { bytes.appendLittleEndian(value) }
        try Self.replaceCheckedFile(
            Self.termFileName, with: bytes, directory: log.directory, fileSystem: log.fileSystem)
    }

    /// The term file's term and vote; nil when it is missing or damaged.
    package static func readTermFile(directory: String, fileSystem: any FileSystem) -> (term: UInt64, vote: UInt64)? {
        guard case .valid(let bytes) = readCheckedFile(termFileName, directory: directory, fileSystem: fileSystem),
            bytes.count == 16
        else { return nil }
        return bytes.withUnsafeBytes {
            ($0.loadLittleEndian(at: 0, as: UInt64.self), $0.loadLittleEndian(at: 8, as: UInt64.self))
        }
    }

    /// A small file of the shard's directory, followed by its CRC-32C.
    enum CheckedFile: Equatable {
        case missing
        case damaged
        case valid([UInt8])
    }

    /// Replaces a small file: `bytes` and their CRC-32C written to a new file and synced, renamed over the
    /// old one, the directory synced. A crash leaves the old file or the new one, never a mix.
    static func replaceCheckedFile(_ name: String, with bytes: [UInt8], directory: String, fileSystem: any FileSystem)
        throws
    {
        var contents = bytes
        contents.appendLittleEndian(CRC32C.checksum(bytes))
        let temporary = fileSystem.path(directory, name + ".new")
        let file = try fileSystem.openFile(temporary, create: true)
        defer { file.close() }
        try file.truncate(to: 0)
        try contents.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> Void in try file.write(raw, at: 0) }
        try file.synchronize()
        try fileSystem.rename(temporary, to: fileSystem.path(directory, name))
        try fileSystem.synchronizeDirectory(directory)
    }

    /// Reads a file written by `replaceCheckedFile` (at most `bytesMax` bytes).
    static func readCheckedFile(
        _ name: String, directory: String, fileSystem: any FileSystem, bytesMax: Int = 64 << 10
    ) -> CheckedFile {
        guard (try? fileSystem.contentsOfDirectory(directory).contains(name)) == true else { return .missing }
        guard let file = try? fileSystem.openFile(fileSystem.path(directory, name), create: false) else {
            return .damaged
        }
        defer { file.close() }
        guard let contents = try? file.read(at: 0, count: bytesMax + 4), contents.count >= 4,
            contents.count <= bytesMax + 3
        else { return .damaged }
        let bytes = Array(contents.dropLast(4))
        let checksum = contents.withUnsafeBytes { $0.loadLittleEndian(at: bytes.count, as: UInt32.self) }
        return CRC32C.checksum(bytes) == checksum ? .valid(bytes) : .damaged
    }

    /// Persists a Ready's snapshot, entries and hard state: one write and one fdatasync for the entries and
    /// hard state together (under the log's sync policy).
    func persist(snapshot: Snapshot?, entries: [Entry], hardState: RaftHardState?) throws {
        if let snapshot {
            // A snapshot from the leader replaces the whole log: entries past it may conflict.
            try log.saveSnapshot(LogSnapshot(index: snapshot.index, term: snapshot.term, data: Self.encode(snapshot)))
            if log.lastIndex > snapshot.index { try log.truncate(after: snapshot.index) }
            try log.compact(through: snapshot.index)
        }
        let stored = hardState.map { StoredHardState(term: $0.term, vote: $0.votedFor, commit: $0.commit) }
        if !entries.isEmpty {
            try log.append(entries.map(Self.encode), hardState: stored)
        } else if let stored {
            // Term and vote must be durable before any message that depends on them; a commit index alone
            // need not be (as etcd's MustSync): after a crash it is learned again from the leader.
            let previous = log.hardState
            let mustSync = stored.term != previous.term || stored.vote != previous.vote
            try log.setHardState(stored, synchronizing: mustSync)
        }
    }

    /// Writes a snapshot file the node took itself, without touching the log (any thread).
    package static func writeSnapshot(
        _ snapshot: Snapshot, directory: String, fileSystem: any FileSystem, compress: Bool
    ) throws {
        try SegmentLog.writeSnapshot(
            LogSnapshot(index: snapshot.index, term: snapshot.term, data: encode(snapshot)), directory: directory,
            fileSystem: fileSystem, compress: compress)
    }

    /// Adopts a snapshot written by `writeSnapshot` and drops the log it covers (the log's owner thread).
    package func adoptLocalSnapshot(_ snapshot: Snapshot) throws {
        try log.snapshotWritten(index: snapshot.index, term: snapshot.term)
        try log.compact(through: snapshot.index)
    }

    static func encode(_ entry: Entry) -> LogEntry {
        var payload = [UInt8]()
        payload.reserveCapacity(entry.data.count + 1)
        payload.append(entry.kind.rawValue)
        payload.append(contentsOf: entry.data)
        return LogEntry(index: entry.index, term: entry.term, payload: payload)
    }

    static func decodeEntry(_ entry: LogEntry) throws -> Entry {
        guard let first = entry.payload.first, let kind = EntryKind(rawValue: first) else {
            throw RaftWireError("log entry \(entry.index) has no valid kind")
        }
        return Entry(term: entry.term, index: entry.index, kind: kind, data: Array(entry.payload.dropFirst()))
    }

    static func encode(_ snapshot: Snapshot) -> [UInt8] {
        var buffer = ByteBuffer()
        RaftWireCodec.write(snapshot.membership, to: &buffer)
        buffer.writeBytes(snapshot.data)
        return Array(buffer.readableBytesView)
    }

    static func decodeSnapshot(_ snapshot: LogSnapshot) throws -> Snapshot {
        var buffer = ByteBuffer(bytes: snapshot.data)
        let membership = try RaftWireCodec.readMembership(&buffer)
        return Snapshot(
            index: snapshot.index, term: snapshot.term, membership: membership,
            data: buffer.readBytes(length: buffer.readableBytes) ?? [])
    }
}
