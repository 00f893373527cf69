import Cluster
import QueueEngine

/// What the SQS handler needs from the node behind it: commands, long-polling receives and reads, each
/// routed to the queue's state. `ClusterNode` provides it, a node alone included (tests may provide
/// their own).
public protocol QueueService: Sendable {
    /// Applies a state-changing command; answers once it is durable under the node's policy.
    func apply(_ command: Command) async -> CommandResult
    /// ReceiveMessage, waiting up to `waitSeconds` (nil: the queue's ReceiveMessageWaitTimeSeconds).
    func receive(_ request: ReceiveMessageRequest, waitSeconds: Int?) async -> CommandResult
    /// Asks the shard holding `queue`, reflecting every command acknowledged before the call.
    func query(_ query: ShardQuery, queue: String) async throws(QueueError) -> ShardAnswer
    /// ListDeadLetterSourceQueues: the queues (of any shard) whose dead-letter queue is `name`.
    func deadLetterSourceQueues(of name: String, maxResults: Int?, nextToken: String?) async throws(QueueError)
        -> QueueNamePage
    /// ListQueues over the queues of `account` (nil: the node's own): bare names (`AccountScope`).
    func listQueues(prefix: String?, account: String?, maxResults: Int?, nextToken: String?) async throws(QueueError)
        -> QueueNamePage
}

extension ClusterNode: QueueService {}
