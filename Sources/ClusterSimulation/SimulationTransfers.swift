import Cluster
import Placement
import QueueEngine
import Raft

/// A move of outbox messages from one shard to another (dead-letter redrive across shards), step by
/// step as `NodeRouter.transfer` does it: import into the target shard (through this node's replica of
/// it, which forwards to the target's leader, or by a call to a node that hosts it), then settle the
/// outbox on the source.
struct Transfer {
    enum Step { case importing, settling }
    var node: NodeID
    var source: Int
    var target: Int
    var messages: [TransferredMessage]
    var step: Step
}

extension SimulationWorld {
    /// The shard a queue lives in.
    func shard(of queue: String) -> Int {
        Int(Placement.shard(forQueue: queue, shardCount: shardCount).rawValue)
    }

    mutating func startTransfer(
        _ messages: [TransferredMessage], from source: Int, to target: Int, on node: SimulatedNode
    ) {
        record("node \(node.id): moving \(messages.count) messages from shard \(source) to shard \(target)")
        submitTransferStep(
            Transfer(node: node.id, source: source, target: target, messages: messages, step: .importing),
            .importMessages(sourceShard: UInt32(source), messages: messages), to: target, on: node)
    }

    mutating func submitTransferStep(_ transfer: Transfer, _ command: Command, to shard: Int, on node: SimulatedNode) {
        let id = nextOperation
        nextOperation += 1
        node.clients.insert(id)
        transfers[id] = transfer
        dispatch(.command(shard: UInt32(shard), command), handle: id, on: node)
    }

    /// One step of a transfer was answered: go on to settling, or tell the source shard how it ended.
    mutating func transferStepAnswered(_ transfer: Transfer, _ result: CommandResult) {
        guard let node = nodes.first(where: { $0.id == transfer.node }), node.isUp else { return }
        switch (transfer.step, result) {
        case (.importing, .imported(let returned)):
            let returnedIds = Set(returned)
            var settling = transfer
            settling.step = .settling
            let delivered = transfer.messages.map(\.id).filter { !returnedIds.contains($0) }
            submitTransferStep(
                settling, .settleOutbox(delivered: delivered, returned: returned), to: transfer.source, on: node)
        case (.settling, .done):
            transfersCompleted += 1
            finishTransfer(transfer, on: node, succeeded: true)
        default:
            record("node \(node.id): moving messages to shard \(transfer.target): \(result); will retry")
            finishTransfer(transfer, on: node, succeeded: false)
        }
    }

    mutating func finishTransfer(_ transfer: Transfer, on node: SimulatedNode, succeeded: Bool) {
        let target = ShardID(UInt32(transfer.target))
        carryOut(
            node.step(transfer.source) {
                $0.transferFinished(target: target, succeeded: succeeded, now: node.time(now))
            }, on: node, transfer.source)
    }
}
