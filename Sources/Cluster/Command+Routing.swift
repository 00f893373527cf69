import QueueEngine

extension Command {
    /// The queue whose shard takes this command: the queue named, or the source queue of a move task.
    /// Nil for commands every shard runs (advancing time), that name no queue (cancelling a move task),
    /// or that carry messages between shards.
    var queueName: String? {
        switch self {
        case .createQueue(let name, _, _), .deleteQueue(let name), .setQueueAttributes(let name, _),
            .purgeQueue(let name), .tagQueue(let name, _), .untagQueue(let name, _),
            .addPermission(let name, _, _, _), .removePermission(let name, _):
            name
        case .sendMessages(let name, _, _, _), .deleteMessages(let name, _, _),
            .changeMessageVisibility(let name, _, _):
            name
        case .receiveMessages(let request): request.queueName
        case .startMessageMoveTask(let sourceArn, _, _):
            QueueEngine.routingName(ofArn: sourceArn)
        case .cancelMessageMoveTask, .advanceTime, .adoptRules: nil
        // Sent to a shard by the node itself, never routed by name.
        case .importMessages, .settleOutbox: nil
        // The metadata group's commands: proposed to that group, never routed by name.
        case .initializeCluster, .changeCluster: nil
        }
    }
}
