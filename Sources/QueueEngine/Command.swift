import Placement

/// A state change of the queue engine. Every command is applied with a timestamp in epoch milliseconds
/// chosen by the caller (later: stamped by the Raft leader), so replicas that apply the same commands in
/// the same order hold the same state.
public enum Command: Sendable, Equatable, Codable {
    /// CreateQueue with its attributes and tags.
    case createQueue(name: String, attributes: [String: String], tags: [String: String])
    /// DeleteQueue.
    case deleteQueue(name: String)
    /// SetQueueAttributes.
    case setQueueAttributes(name: String, attributes: [String: String])
    /// PurgeQueue.
    case purgeQueue(name: String)
    /// SendMessage (`isBatch` false, one entry) or SendMessageBatch; `senderId` is the caller's access key id.
    case sendMessages(queueName: String, entries: [SendMessageEntry], senderId: String, isBatch: Bool)
    /// ReceiveMessage.
    case receiveMessages(ReceiveMessageRequest)
    /// DeleteMessage (`isBatch` false, one entry) or DeleteMessageBatch.
    case deleteMessages(queueName: String, entries: [ReceiptEntry], isBatch: Bool)
    /// ChangeMessageVisibility (`isBatch` false, one entry) or ChangeMessageVisibilityBatch.
    case changeMessageVisibility(queueName: String, entries: [ReceiptEntry], isBatch: Bool)
    /// TagQueue.
    case tagQueue(name: String, tags: [String: String])
    /// UntagQueue.
    case untagQueue(name: String, tagKeys: [String])
    /// AddPermission.
    case addPermission(name: String, label: String, accountIds: [String], actions: [String])
    /// RemovePermission.
    case removePermission(name: String, label: String)
    /// StartMessageMoveTask.
    case startMessageMoveTask(sourceArn: String, destinationArn: String?, maxNumberOfMessagesPerSecond: Int?)
    /// CancelMessageMoveTask.
    case cancelMessageMoveTask(taskHandle: String)
    /// Time passes: delays and visibility timeouts run out, retention expires messages, move tasks progress.
    case advanceTime
    /// Messages another shard's outbox sent to queues of this shard (each imported at most once).
    case importMessages(sourceShard: UInt32, messages: [TransferredMessage])
    /// The answer to an import of this shard's outbox: drop `delivered`, put `returned` back.
    case settleOutbox(delivered: [UInt64], returned: [UInt64])
    /// From this entry on, apply commands with `rules` (`Rules`; never goes back). A leader proposes it
    /// when the engine's rules are older than its build's.
    case adoptRules(UInt8)
    /// The metadata group's first configuration (`ClusterMetadata`): taken when the engine holds none, ignored
    /// otherwise (the first one in the log wins).
    case initializeCluster(ClusterMetadata)
    /// A change of the cluster's configuration (`ClusterMetadata.apply`), on the metadata group.
    case changeCluster(MetadataCommand)
}

/// What applying a command produced.
public enum CommandResult: Sendable, Equatable, Codable {
    /// The whole request failed.
    case failure(QueueError)
    /// Success with no data.
    case done
    /// CreateQueue: the queue's name.
    case queueCreated(name: String)
    /// SendMessage / SendMessageBatch results, in entry order.
    case sent([BatchEntryResult<SentMessage>])
    /// ReceiveMessage.
    case received([ReceivedMessage])
    /// DeleteMessage(Batch) / ChangeMessageVisibility(Batch) results, in entry order.
    case acknowledged([BatchEntryResult<Acknowledged>])
    /// StartMessageMoveTask.
    case moveTaskStarted(taskHandle: String)
    /// CancelMessageMoveTask.
    case moveTaskCancelled(approximateNumberOfMessagesMoved: Int)
    /// An import: the transfer ids whose queue does not exist here.
    case imported(returned: [UInt64])
}

extension QueueEngine {
    /// Applies one command at `timestampMilliseconds`. A timestamp earlier than one already applied is
    /// treated as that earlier one: engine time never goes back. With `rendersResults` false (a replica
    /// that answers no client for this command), ReceiveMessage changes the state exactly the same but
    /// returns no messages: building them (bodies, attributes, receipt handles) is skipped.
    public mutating func apply(_ command: Command, timestampMilliseconds: Int64, rendersResults: Bool = true)
        -> CommandResult
    {
        clock = max(clock, min(timestampMilliseconds, QueueLimits.timestampMillisecondsMax))
        do {
            switch command {
            case .createQueue(let name, let attributes, let tags):
                try createQueue(name: name, attributes: attributes, tags: tags)
                return .queueCreated(name: name)
            case .deleteQueue(let name):
                try deleteQueue(name: name)
            case .setQueueAttributes(let name, let attributes):
                try setQueueAttributes(name: name, attributes: attributes)
            case .purgeQueue(let name):
                try purgeQueue(name: name)
            case .sendMessages(let queueName, let entries, let senderId, let isBatch):
                return .sent(
                    try sendMessages(queueName: queueName, entries: entries, senderId: senderId, isBatch: isBatch))
            case .receiveMessages(let request):
                return .received(try receiveMessages(request, rendering: rendersResults))
            case .deleteMessages(let queueName, let entries, let isBatch):
                return .acknowledged(try deleteMessages(queueName: queueName, entries: entries, isBatch: isBatch))
            case .changeMessageVisibility(let queueName, let entries, let isBatch):
                return .acknowledged(
                    try changeMessageVisibility(queueName: queueName, entries: entries, isBatch: isBatch))
            case .tagQueue(let name, let tags):
                try tagQueue(name: name, tags: tags)
            case .untagQueue(let name, let tagKeys):
                try untagQueue(name: name, tagKeys: tagKeys)
            case .addPermission(let name, let label, let accountIds, let actions):
                try addPermission(name: name, label: label, accountIds: accountIds, actions: actions)
            case .removePermission(let name, let label):
                try removePermission(name: name, label: label)
            case .startMessageMoveTask(let sourceArn, let destinationArn, let rate):
                return .moveTaskStarted(
                    taskHandle: try startMessageMoveTask(
                        sourceArn: sourceArn, destinationArn: destinationArn, maxNumberOfMessagesPerSecond: rate))
            case .cancelMessageMoveTask(let taskHandle):
                return .moveTaskCancelled(approximateNumberOfMessagesMoved: try cancelMessageMoveTask(taskHandle))
            case .advanceTime:
                advanceTime()
            case .importMessages(let sourceShard, let messages):
                return .imported(returned: try importMessages(from: sourceShard, messages))
            case .settleOutbox(let delivered, let returned):
                settleOutbox(delivered: delivered, returned: returned)
            case .adoptRules(let version):
                adoptRules(version)
            case .initializeCluster(let metadata):
                initializeCluster(metadata)
            case .changeCluster(let command):
                try changeCluster(command)
            }
            return .done
        } catch {
            return .failure(error)
        }
    }
}
