extension Raft {
    /// Handles a message from a peer. Terms first (§5.1): a higher term makes this node a follower (except
    /// for pre-votes, and vote requests inside a leader lease); a lower term is ignored or answered so a
    /// stale leader learns of the new term.
    public mutating func step(_ message: Message) {
        guard message.to == configuration.id, message.from != configuration.id else { return }
        if message.term > term {
            guard acceptHigherTerm(message) else { return }
        } else if message.term < term && message.kind != .readIndex {
            answerStaleMessage(message)
            return
        }
        switch message.kind {
        case .preVote, .vote:
            handleVoteRequest(message)
        default:
            switch role {
            case .leader: stepLeader(message)
            case .candidate, .preCandidate: stepCandidate(message)
            case .follower: stepFollower(message)
            }
        }
        advanceRepair(after: message)
    }

    /// Decides what a message of a higher term does; false when it is to be ignored.
    private mutating func acceptHigherTerm(_ message: Message) -> Bool {
        if message.kind == .vote || message.kind == .preVote {
            let forced = message.context == transferContext
            let inLease = configuration.checkQuorum && leader != 0 && electionElapsed < configuration.electionTicks
            if !forced && inLease { return false }
        }
        switch message.kind {
        case .preVote:
            // Never changes our term.
            return true
        case .preVoteResponse where !message.reject:
            // Granted pre-votes carry the future term.
            return true
        case .append, .heartbeat, .snapshot:
            becomeFollower(term: message.term, leader: message.from)
        default:
            becomeFollower(term: message.term, leader: 0)
        }
        return true
    }

    private mutating func answerStaleMessage(_ message: Message) {
        switch message.kind {
        case .append, .heartbeat:
            // A leader cut off from the group (or a node that rejoined with a higher term than ours if we
            // are the stale one) learns the current term from this answer and steps down.
            if configuration.checkQuorum || configuration.preVote {
                send(Message(kind: .appendResponse, from: 0, to: message.from))
            }
        case .preVote:
            send(Message(kind: .preVoteResponse, from: 0, to: message.from, term: term, reject: true))
        default:
            break
        }
    }

    mutating func stepCandidate(_ message: Message) {
        switch message.kind {
        case .append:
            becomeFollower(term: message.term, leader: message.from)
            handleAppend(message)
        case .heartbeat:
            becomeFollower(term: message.term, leader: message.from)
            handleHeartbeat(message)
        case .snapshot:
            becomeFollower(term: message.term, leader: message.from)
            handleSnapshot(message)
        case .preVoteResponse, .voteResponse:
            handleVoteResponse(message)
        default:
            break
        }
    }

    mutating func stepFollower(_ message: Message) {
        switch message.kind {
        case .append:
            electionElapsed = 0
            leader = message.from
            handleAppend(message)
        case .heartbeat:
            electionElapsed = 0
            leader = message.from
            handleHeartbeat(message)
        case .snapshot:
            electionElapsed = 0
            leader = message.from
            handleSnapshot(message)
        case .timeoutNow:
            campaign(.transfer)
        case .readIndex:
            // Not relayed to the leader this node knows: a relayed message would name another node than the
            // link it arrives on, which peers refuse (found by ferry simulate, seed 176: a read asked of a
            // deposed leader was dropped at the next link and waited for its timeout). The asker asks again
            // when it learns the new leader.
            break
        case .readIndexResponse:
            readStates.append(ReadState(index: message.index, context: message.context))
        default:
            break
        }
    }
}
