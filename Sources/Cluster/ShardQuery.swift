import Placement
import QueueEngine

/// A question about one shard's queues, answered from its engine after a ReadIndex (linearizable). It is
/// a value rather than a closure so that a node can ask it of a shard it does not host.
public enum ShardQuery: Sendable, Equatable, Codable {
    /// GetQueueUrl: whether the queue exists.
    case queueExists(name: String)
    /// GetQueueAttributes.
    case queueAttributes(name: String, names: [String])
    /// ListQueueTags.
    case queueTags(name: String)
    /// ListMessageMoveTasks.
    case messageMoveTasks(sourceArn: String, maxResults: Int?)
    /// The shard's queue names with a prefix (ListQueues merges every shard's).
    case queueNames(prefix: String?)
    /// The shard's queues whose dead-letter queue is `arn` (ListDeadLetterSourceQueues merges them).
    case queuesRedriving(toArn: String)
    /// Whether the queue an ARN names exists.
    case queueExistsByArn(String)
    /// Whether a queue can be `sourceArn`'s dead-letter queue (throws the RedrivePolicy error if not).
    case checkDeadLetterTarget(arn: String, sourceArn: String, policyJSON: String)
    /// The cluster's configuration, asked of the metadata group (nil until its first leader recorded it).
    case clusterMetadata
    /// The console: summaries of the shard's queues `scope` covers, at most `limit`.
    case queueSummaries(SummaryScope, limit: Int)
    /// The console: a queue's oldest messages, read without changing them.
    case peekMessages(name: String, max: Int)

    /// The answer, from `engine`, at the shard's time `time` (epoch milliseconds; nil for the engine's).
    package func answer(from engine: borrowing QueueEngine, at time: Int64? = nil) throws(QueueError) -> ShardAnswer {
        switch self {
        case .queueExists(let name): return .flag(engine.queueExists(name))
        case .queueAttributes(let name, let names):
            return .map(try engine.queueAttributes(name, names: names, at: time))
        case .queueTags(let name): return .map(try engine.queueTags(name))
        case .messageMoveTasks(let sourceArn, let maxResults):
            return .moveTasks(try engine.messageMoveTasks(sourceArn: sourceArn, maxResults: maxResults))
        case .queueNames(let prefix): return .names(engine.queueNames(prefix: prefix))
        case .queuesRedriving(let arn): return .names(engine.queues(redrivingTo: arn))
        case .queueExistsByArn(let arn): return .flag(engine.queueExists(arn: arn))
        case .checkDeadLetterTarget(let arn, let sourceArn, let policyJSON):
            try engine.checkDeadLetterTarget(arn: arn, sourceArn: sourceArn, policyJSON: policyJSON)
            return .none
        case .clusterMetadata: return .clusterMetadata(engine.clusterMetadata)
        case .queueSummaries(let scope, let limit):
            return .summaries(engine.queueSummaries(scope, limit: limit, at: time))
        case .peekMessages(let name, let max): return .peeked(try engine.peekMessages(name, max: max, at: time))
        }
    }
}

/// The answer to a `ShardQuery`.
public enum ShardAnswer: Sendable, Equatable, Codable {
    case flag(Bool)
    case map([String: String])
    case names([String])
    case moveTasks([MessageMoveTaskInfo])
    case clusterMetadata(ClusterMetadata?)
    case summaries([QueueSummary])
    case peeked([PeekedMessage])
    case none

    public var flag: Bool {
        if case .flag(let value) = self { return value }
        return false
    }

    public var names: [String] {
        if case .names(let names) = self { return names }
        return []
    }

    public var map: [String: String] {
        if case .map(let map) = self { return map }
        return [:]
    }

    public var summaries: [QueueSummary] {
        if case .summaries(let summaries) = self { return summaries }
        return []
    }

    public var peeked: [PeekedMessage] {
        if case .peeked(let messages) = self { return messages }
        return []
    }

    public var moveTasks: [MessageMoveTaskInfo] {
        if case .moveTasks(let tasks) = self { return tasks }
        return []
    }
}
