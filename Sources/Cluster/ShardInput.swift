import PeerTransport
import Placement
import QueueEngine
import Raft

/// What other threads hand a shard's drive thread.
enum ShardInput: @unchecked Sendable {
    // @unchecked: `read` carries a closure that runs on the drive thread against the engine; it is
    // @Sendable, but `borrowing QueueEngine` parameters keep the compiler from proving it.

    /// A Raft message from a peer.
    case raft(Message)
    /// A client's command, answered when its entry applies here.
    case command(Command, CheckedContinuation<CommandResult, Never>)
    /// A client's ReceiveMessage that may wait up to `waitSeconds` (nil: the queue's default) for a message.
    case receive(ReceiveMessageRequest, waitSeconds: Int?, CheckedContinuation<CommandResult, Never>)
    /// A linearizable read of the engine.
    case read(ReadBody)
    /// Commands another node forwarded to this one as the leader it believes in.
    case forwarded(from: NodeID, [ProposalEnvelope])
    /// The node this one forwarded commands to is not the leader.
    case forwardRejected(ForwardRejection)
    /// A piece of a snapshot from a leader.
    case snapshotChunk(from: NodeID, SnapshotChunk)
    /// A follower's acknowledgment of snapshot pieces.
    case snapshotAck(from: NodeID, SnapshotAck)
    /// A snapshot was encoded and written off the drive thread.
    case snapshotWritten(Snapshot)
    /// Encoding or writing a snapshot failed.
    case snapshotFailed(String)
    /// A transfer of outbox messages to `target` finished: imported and settled, or failed (then that
    /// target is tried again after a back-off).
    case transferFinished(target: ShardID, succeeded: Bool)
    /// The replicas the cluster configuration gives the shard now, preferred leader first
    /// (`ShardDriver.setTargetVoters`).
    case setTarget([NodeID])

    /// Inputs the replica itself started and must hear back about: never refused for a full inbox.
    var isControl: Bool {
        switch self {
        case .snapshotWritten, .snapshotFailed, .transferFinished, .setTarget: true
        default: false
        }
    }

    var isClientRequest: Bool {
        switch self {
        case .command, .receive, .read: true
        default: false
        }
    }

    /// Answers a client input that will not be handled.
    func refuse(_ error: QueueError) {
        switch self {
        case .command(_, let continuation), .receive(_, _, let continuation):
            continuation.resume(returning: .failure(error))
        case .read(let body): body(nil, 0, error)
        default: break
        }
    }
}

/// A read to run on the drive thread: given the engine once the read index is applied, or an error.
typealias ReadBody = @Sendable (borrowing QueueEngine?, _ shardTime: Int64, QueueError?) -> Void

/// A client request the shell holds until the driver answers it.
enum ClientWaiter {
    case command(CheckedContinuation<CommandResult, Never>)
    case read(ReadBody)

    func fail(_ error: QueueError) {
        switch self {
        case .command(let continuation): continuation.resume(returning: .failure(error))
        case .read(let body): body(nil, 0, error)
        }
    }
}
