/// The context of a vote request sent because of a leadership transfer: it overrides leases.
let transferContext: [UInt8] = Array("transfer".utf8)

extension Raft {
    mutating func resetTimers() {
        electionElapsed = 0
        heartbeatElapsed = 0
        randomizedElectionTimeout =
            configuration.electionTicks + Int(random.next() % UInt64(configuration.electionTicks))
    }

    mutating func reset(term newTerm: UInt64) {
        if newTerm != term {
            term = newTerm
            votedFor = 0
        }
        leader = 0
        votes = [:]
        transferee = 0
        progress = [:]
        pendingReads = []
        deferredReads = []
        resetTimers()
    }

    mutating func becomeFollower(term newTerm: UInt64, leader newLeader: NodeID) {
        reset(term: newTerm)
        role = .follower
        leader = newLeader
    }

    mutating func becomePreCandidate() {
        precondition(role != .leader, "a leader cannot become a pre-candidate")
        // Pre-vote changes neither term nor vote: a partitioned node cannot disrupt anyone.
        votes = [:]
        leader = 0
        role = .preCandidate
        resetTimers()
    }

    mutating func becomeCandidate() {
        precondition(role != .leader, "a leader cannot become a candidate")
        reset(term: term + 1)
        votedFor = configuration.id
        role = .candidate
    }

    mutating func becomeLeader() {
        precondition(role == .candidate, "only a candidate becomes leader, not \(role)")
        reset(term: term)
        role = .leader
        leader = configuration.id
        for node in membership.members {
            var peer = Progress(next: log.lastIndex + 1, isLearner: !membership.allVoters.contains(node))
            if node == configuration.id {
                peer.match = log.lastIndex
                peer.becomeReplicate()
                peer.recentActive = true
            }
            progress[node] = peer
        }
        // No membership change until everything of earlier terms is applied (conservative, as etcd).
        pendingMembershipIndex = log.lastIndex
        // A no-op entry of the new term lets earlier entries commit (§5.4.2, §8).
        appendEntries([Entry(term: term, index: 0)])
        broadcastAppend()
    }

    mutating func tickElection() {
        electionElapsed += 1
        guard isPromotable, electionElapsed >= randomizedElectionTimeout else { return }
        electionElapsed = 0
        campaign(configuration.preVote ? .preElection : .election)
    }

    /// Which round of an election to run.
    enum CampaignKind {
        /// Pre-vote: ask without raising the term.
        case preElection
        /// A real election (§5.2).
        case election
        /// An election asked for by a leadership transfer: overrides leader leases.
        case transfer
    }

    /// Starts an election round.
    mutating func campaign(_ kind: CampaignKind) {
        guard isPromotable else { return }
        let isPreVote = kind == .preElection
        let transfer = kind == .transfer
        let voteTerm: UInt64
        if isPreVote {
            becomePreCandidate()
            voteTerm = term + 1
        } else {
            becomeCandidate()
            voteTerm = term
        }
        votes[configuration.id] = true
        if membership.voteResult(votes) == .won {
            // A group of one wins at once.
            if isPreVote { campaign(.election) } else { becomeLeader() }
            return
        }
        for node in membership.allVoters.sorted() where node != configuration.id {
            send(
                Message(
                    kind: isPreVote ? .preVote : .vote, from: 0, to: node, term: voteTerm, logTerm: log.lastTerm,
                    index: log.lastIndex, context: transfer ? transferContext : []))
        }
    }

    /// RequestVote and pre-vote requests (§5.2, §5.4.1). `message.term >= term` here.
    mutating func handleVoteRequest(_ message: Message) {
        let isPreVote = message.kind == .preVote
        let canVote =
            !isRepairing
            && (votedFor == message.from || (votedFor == 0 && leader == 0) || (isPreVote && message.term > term))
        let upToDate = log.isUpToDate(lastIndex: message.index, lastTerm: message.logTerm)
        if canVote && upToDate {
            // A granted pre-vote carries the term it was asked for, so the candidate can count it.
            send(
                Message(
                    kind: isPreVote ? .preVoteResponse : .voteResponse, from: 0, to: message.from, term: message.term))
            if !isPreVote {
                electionElapsed = 0
                votedFor = message.from
            }
        } else {
            send(
                Message(
                    kind: isPreVote ? .preVoteResponse : .voteResponse, from: 0, to: message.from, term: term,
                    reject: true))
        }
    }

    /// Counts a vote; wins or loses the election when decided.
    mutating func handleVoteResponse(_ message: Message) {
        let expected: MessageKind = role == .preCandidate ? .preVoteResponse : .voteResponse
        guard message.kind == expected, membership.allVoters.contains(message.from) else { return }
        if votes[message.from] == nil { votes[message.from] = !message.reject }
        switch membership.voteResult(votes) {
        case .won:
            if role == .preCandidate { campaign(.election) } else { becomeLeader() }
        case .lost:
            becomeFollower(term: term, leader: 0)
        case .pending:
            break
        }
    }
}
