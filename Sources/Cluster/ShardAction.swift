import Logging
import PeerTransport
import Placement
import QueueEngine
import Raft

/// The time as a shard's shell reads it, handed to every driver event that needs it.
package struct ShardTime: Sendable, Equatable {
    /// Milliseconds of a clock that never steps (the monotonic clock): ticks, deadlines, long-poll waits,
    /// and how far the leader advances the shard's time between two stamps.
    package var monotonicMilliseconds: Int64
    /// Milliseconds since the epoch by this node's wall clock as read when the shell started, advanced by
    /// the monotonic clock since (so a step of the wall clock while running changes nothing). Used only to
    /// start a new shard's time and to catch it up when this node becomes leader.
    package var wallMilliseconds: Int64

    package init(monotonicMilliseconds: Int64, wallMilliseconds: Int64) {
        self.monotonicMilliseconds = monotonicMilliseconds
        self.wallMilliseconds = wallMilliseconds
    }
}

/// A client request's handle in the shell (its continuation or read body), chosen by the shell.
package typealias ClientHandle = UInt64

/// What the driver asks its shell to do, in order.
package enum ShardAction: Sendable {
    /// Send frames to a peer; report `sent(to:delivered:)` if they could not be queued.
    case send(to: NodeID, [PeerFrame])
    /// Answer a client's command or receive.
    case answer(ClientHandle, CommandResult)
    /// Run a client's read against `engine` now (its read index has applied).
    case serveRead(ClientHandle)
    /// Fail a client's read.
    case failRead(ClientHandle, QueueError)
    /// Encode and write a snapshot off the driving thread, then report `snapshotWritten(_:)` (or
    /// `snapshotFailed(_:)`). The log is synced first when it does not sync each append.
    case startSnapshot(SnapshotJob)
    /// Carry outbox messages to `target` and settle them here, then report `transferFinished`.
    case startTransfer(target: ShardID, messages: [TransferredMessage])
    /// Repair finished (the replica caught up with its leader): remove the durable repair marker, so a
    /// restart votes again (`ShardStorage.repairFinished`).
    case repairFinished
    /// The group's membership as this replica last applied it changed (a replica moved in or out; see
    /// `MoveStep`). A replica that is no longer a member receives nothing more from the group.
    case membershipChanged(Membership)
    /// Something the operator should see.
    case log(Logger.Level, String)
    /// The replica cannot go on (a snapshot that does not restore): stop it and report.
    case fatal(String)
}

/// A snapshot to take: the replicated state as of `index`, copied (copy-on-write) from the driver.
package struct SnapshotJob: Sendable {
    package var index: UInt64
    var term: UInt64
    var membership: Membership
    var engine: QueueEngine
    var applied: AppliedRequests

    /// Encodes the snapshot (on any thread).
    package func encode() -> Snapshot {
        Snapshot(
            index: index, term: term, membership: membership,
            data: ShardSnapshotCodec.encode(applied: applied, engineSnapshot: engine.snapshot()))
    }
}

/// What the shell must persist for one Raft `Ready`, and the frames it may send before doing so (a
/// leader whose term and vote did not change: its fdatasync overlaps the followers'). After persisting
/// (entries and hard state with one fdatasync when `mustSync`), it reports `persisted(_:now:)`.
package struct ShardReady: Sendable {
    package var ready: Ready
    /// Frames to send before persisting (already reported as sent to the driver when carried out).
    package var sendsBeforePersisting: [ShardAction]
    /// True when term or vote changed: they must be durable before any message leaves, whatever the
    /// log's sync policy.
    var termOrVoteChanged: Bool
}
