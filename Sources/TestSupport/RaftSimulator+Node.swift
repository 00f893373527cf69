import Raft

/// What a simulated node made durable, following the driver contract: its hard state, its latest snapshot
/// and the entries after it. It survives crashes; everything else of the node does not.
struct SimulatedStorage: Sendable {
    var hardState = HardState()
    var snapshot: Snapshot?
    /// Contiguous, from `firstIndex`.
    var entries: [Entry] = []

    var firstIndex: UInt64 { (snapshot?.index ?? 0) + 1 }
    var lastIndex: UInt64 { (snapshot?.index ?? 0) + UInt64(entries.count) }

    var persisted: PersistedState { PersistedState(hardState: hardState, snapshot: snapshot, entries: entries) }

    /// Persists a snapshot from the leader: it replaces the whole log.
    mutating func install(_ snapshot: Snapshot) {
        self.snapshot = snapshot
        entries = []
    }

    /// Persists entries, replacing the stored ones from the first one's index on; returns what is wrong when
    /// they would leave a gap or overwrite the snapshot.
    mutating func append(_ newEntries: [Entry]) -> String? {
        guard let first = newEntries.first?.index else { return nil }
        guard first >= firstIndex, first <= lastIndex + 1 else {
            return "entries from \(first) do not continue the persisted log \(firstIndex)...\(lastIndex)"
        }
        entries.removeSubrange(Int(first - firstIndex)...)
        entries.append(contentsOf: newEntries)
        return nil
    }

    /// Persists a snapshot the application took, dropping the entries it covers.
    mutating func compact(_ snapshot: Snapshot) {
        let previous = self.snapshot?.index ?? 0
        guard snapshot.index > previous else { return }
        entries.removeFirst(min(Int(snapshot.index - previous), entries.count))
        self.snapshot = snapshot
    }
}

/// One applied client payload.
struct AppliedPayload: Sendable, Equatable {
    var index: UInt64
    var id: UInt64
}

/// The replicated state machine of the simulation: the list of applied payload ids. Its snapshot is that
/// list; it lives in memory and is rebuilt from the persisted snapshot after a crash.
struct SimulatedStateMachine: Sendable {
    var payloads: [AppliedPayload] = []
    var payloadIDs: Set<UInt64> = []
    var appliedIndex: UInt64 = 0
    /// The latest applied membership change (or restored snapshot): at any index from here to `appliedIndex`
    /// the membership is the node's current one, so snapshots are taken in that range.
    var membershipIndex: UInt64 = 0

    init() {}

    /// The state machine restored from `snapshot`; nil when its data does not decode.
    init?(snapshot: Snapshot) {
        guard let payloads = Self.decode(snapshot.data) else { return nil }
        self.payloads = payloads
        self.payloadIDs = Set(payloads.map(\.id))
        self.appliedIndex = snapshot.index
        self.membershipIndex = snapshot.index
    }

    /// The state as of `index` (≤ `appliedIndex`), encoded as (index, id) pairs.
    func snapshotData(through index: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        for payload in payloads where payload.index <= index {
            withUnsafeBytes(of: payload.index.littleEndian) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: payload.id.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> [AppliedPayload]? {
        guard bytes.count % 16 == 0 else { return nil }
        return stride(from: 0, to: bytes.count, by: 16).map { offset in
            AppliedPayload(
                index: SimulatedPayload.readUInt64(bytes, at: offset),
                id: SimulatedPayload.readUInt64(bytes, at: offset + 8))
        }
    }
}

/// A client payload: an 8-byte id (unique in a run) and some padding, so entries differ in size.
enum SimulatedPayload {
    static func encode(id: UInt64, paddingBytes: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: id.littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: repeatElement(UInt8(truncatingIfNeeded: id), count: paddingBytes))
        return bytes
    }

    /// The id of a payload; nil when it is not one.
    static func id(of data: [UInt8]) -> UInt64? {
        guard data.count >= 8, data[8...].allSatisfy({ $0 == UInt8(truncatingIfNeeded: data[0]) }) else {
            return nil
        }
        return readUInt64(data, at: 0)
    }

    static func readUInt64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for position in (0..<8).reversed() { value = value << 8 | UInt64(bytes[offset + position]) }
        return value
    }
}

/// Where a node crashes while handling a `Ready`: what it had done by then survives only if persisted.
public enum ReadyCrashPoint: CaseIterable, Sendable {
    /// Nothing persisted, nothing sent (the fsync never happened).
    case beforePersisting
    /// The snapshot persisted, not the entries nor the hard state.
    case afterSnapshot
    /// The snapshot and some of the entries persisted (a torn batch), not the hard state.
    case afterEntries
    /// Everything persisted, no message sent.
    case afterHardState
    /// Everything persisted, some messages sent.
    case afterSomeMessages
    /// Everything persisted and sent, some committed entries applied, `advance` not called.
    case afterApplyingSome
}

/// One simulated node: a `Raft`, its durable storage, its state machine, and whether it is up.
struct SimulatedNode: Sendable {
    let id: NodeID
    var raft: Raft
    var storage = SimulatedStorage()
    var stateMachine = SimulatedStateMachine()
    var isUp = true
    var restarts = 0
    /// Set to crash the node part-way through its next `Ready`.
    var crashDuringReady: ReadyCrashPoint?
    /// The term and commit index seen while up, which must never go back until the node crashes.
    var termSeen: UInt64 = 0
    var commitSeen: UInt64 = 0
    /// Committed entries up to here were checked against the record of committed entries.
    var commitRecorded: UInt64 = 0
}
