extension Raft {
    /// Asks for a linearizable read point (ReadIndex, thesis §6.4). The answer arrives as a `ReadState` with
    /// the same context in a later `Ready`. On a follower the request goes to the leader.
    public mutating func readIndex(_ context: [UInt8]) throws(RaftError) {
        switch role {
        case .leader:
            handleReadIndexRequest(from: configuration.id, context: context)
        default:
            guard leader != 0 else { throw .notLeader(leader: 0) }
            send(Message(kind: .readIndex, from: 0, to: leader, context: context))
        }
    }

    /// The leader's side: the read index is the commit index once a quorum confirms this node still leads.
    mutating func handleReadIndexRequest(from node: NodeID, context: [UInt8]) {
        // Until an entry of this term commits, the commit index may be behind what earlier leaders committed.
        guard log.term(at: log.committed) == term else {
            deferredReads.append((node, context))
            return
        }
        if membership.voteResult([configuration.id: true]) == .won {
            answerRead(index: log.committed, context: context, to: node)
            return
        }
        pendingReads.append(
            PendingRead(index: log.committed, context: context, from: node, acknowledgements: [configuration.id]))
        broadcastHeartbeat(context: context)
    }

    /// A heartbeat response carrying a read context: once a quorum acknowledged it, it and every request
    /// queued before it are answered.
    mutating func acknowledgeRead(_ context: [UInt8], from node: NodeID) {
        guard let position = pendingReads.firstIndex(where: { $0.context == context }) else { return }
        pendingReads[position].acknowledgements.insert(node)
        var votes: [NodeID: Bool] = [:]
        for voter in pendingReads[position].acknowledgements { votes[voter] = true }
        guard membership.voteResult(votes) == .won else { return }
        let ready = pendingReads[...position]
        pendingReads.removeFirst(position + 1)
        for read in ready { answerRead(index: read.index, context: read.context, to: read.from) }
    }

    mutating func answerRead(index: UInt64, context: [UInt8], to node: NodeID) {
        if node == configuration.id {
            readStates.append(ReadState(index: index, context: context))
        } else {
            send(Message(kind: .readIndexResponse, from: 0, to: node, index: index, context: context))
        }
    }

    /// Runs the reads deferred until the leader's first commit in its term.
    mutating func releaseDeferredReads() {
        guard !deferredReads.isEmpty, log.term(at: log.committed) == term else { return }
        let reads = deferredReads
        deferredReads = []
        for read in reads { handleReadIndexRequest(from: read.from, context: read.context) }
    }
}
