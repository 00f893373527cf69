import NIOCore

/// The replicated table of client commands already applied, so that a command proposed twice (its node
/// sent it again to a new leader while the first copy was still in an old leader's log) is applied once
/// (Raft dissertation §6.3). Every replica updates it in log order from the entries alone; it travels in
/// the shard's snapshots.
///
/// A session is one incarnation of one proposer. It keeps the sequence numbers applied at or above the
/// proposer's floor (the lowest sequence the proposer still waits for), so its size is bounded by the
/// proposer's pending commands; a session not heard from for `sessionIdleAdvances` of the leader's
/// once-a-second time advances is dropped (its node restarted or left: a copy older than that cannot still
/// be waiting in any log). Counting log entries rather than reading the shard's time keeps a clock that
/// jumps from dropping live sessions.
package struct AppliedRequests: Equatable, Sendable {
    package struct Session: Equatable, Sendable {
        /// Sequences below this were answered or given up: a copy of one of them is a duplicate.
        var floor: UInt64 = 0
        /// Applied sequences at or above `floor`.
        var applied: Set<UInt64> = []
        /// The table's `advances` at the session's latest entry.
        var lastAdvance: UInt64 = 0
    }

    package struct SessionID: Hashable, Sendable, Comparable {
        var proposer: UInt64
        var incarnation: UInt64

        package static func < (left: SessionID, right: SessionID) -> Bool {
            (left.proposer, left.incarnation) < (right.proposer, right.incarnation)
        }
    }

    /// Time advances (one a second from a leader) after which a silent session is forgotten: about 15
    /// minutes, far beyond any proposal timeout.
    static let sessionIdleAdvances: UInt64 = 900
    /// Sessions kept at most; past this the idlest is forgotten first.
    static let sessionsMax = 4_096
    /// Applied sequences kept per session at most (a proposer's pending commands are bounded lower).
    static let appliedPerSessionMax = 1 << 20

    package private(set) var sessions: [SessionID: Session] = [:]
    /// Time-advance entries applied so far (the table's clock).
    package private(set) var advances: UInt64 = 0

    /// Records that `envelope` is about to apply; false when it is a copy of one already applied (or given
    /// up by its proposer), which must then not apply. Entries without an incarnation (the leader's own
    /// commands, format 1 entries) always apply.
    mutating func admit(_ envelope: ProposalEnvelope) -> Bool {
        guard envelope.incarnation != 0 else { return true }
        let id = SessionID(proposer: envelope.proposer, incarnation: envelope.incarnation)
        var session = sessions[id] ?? Session()
        session.lastAdvance = advances
        let isNew = envelope.id >= session.floor && !session.applied.contains(envelope.id)
        if isNew { session.applied.insert(envelope.id) }
        if envelope.sequenceFloor > session.floor {
            session.floor = envelope.sequenceFloor
            session.applied = session.applied.filter { $0 >= session.floor }
        }
        if session.applied.count > Self.appliedPerSessionMax, let lowest = session.applied.min() {
            session.applied.remove(lowest)
            session.floor = max(session.floor, lowest + 1)
        }
        sessions[id] = session
        if sessions.count > Self.sessionsMax,
            let idlest = sessions.min(by: { ($0.value.lastAdvance, $0.key) < ($1.value.lastAdvance, $1.key) })
        {
            sessions[idlest.key] = nil
        }
        return isNew
    }

    /// A time advance applied: forgets sessions silent for more than `sessionIdleAdvances` of them.
    mutating func timeAdvanced() {
        advances += 1
        guard advances > Self.sessionIdleAdvances else { return }
        let cutoff = advances - Self.sessionIdleAdvances
        guard sessions.values.contains(where: { $0.lastAdvance < cutoff }) else { return }
        sessions = sessions.filter { $0.value.lastAdvance >= cutoff }
    }

    // MARK: Codec

    /// Canonical encoding (sessions and sequences sorted), so equal tables encode to equal bytes.
    func encode(to buffer: inout ByteBuffer) {
        buffer.writeInteger(advances, endianness: .little)
        buffer.writeInteger(UInt32(sessions.count), endianness: .little)
        for id in sessions.keys.sorted() {
            let session = sessions[id]!
            buffer.writeInteger(id.proposer, endianness: .little)
            buffer.writeInteger(id.incarnation, endianness: .little)
            buffer.writeInteger(session.floor, endianness: .little)
            buffer.writeInteger(session.lastAdvance, endianness: .little)
            buffer.writeInteger(UInt32(session.applied.count), endianness: .little)
            for sequence in session.applied.sorted() { buffer.writeInteger(sequence, endianness: .little) }
        }
    }

    init() {}

    init(reading buffer: inout ByteBuffer) throws(RaftWireError) {
        guard let advances = buffer.readInteger(endianness: .little, as: UInt64.self),
            let count = buffer.readInteger(endianness: .little, as: UInt32.self), Int(count) <= Self.sessionsMax
        else { throw RaftWireError("bad applied-request table") }
        self.advances = advances
        for _ in 0..<count {
            guard let proposer = buffer.readInteger(endianness: .little, as: UInt64.self),
                let incarnation = buffer.readInteger(endianness: .little, as: UInt64.self),
                let floor = buffer.readInteger(endianness: .little, as: UInt64.self),
                let last = buffer.readInteger(endianness: .little, as: UInt64.self),
                let appliedCount = buffer.readInteger(endianness: .little, as: UInt32.self),
                Int(appliedCount) <= Self.appliedPerSessionMax, Int(appliedCount) * 8 <= buffer.readableBytes
            else { throw RaftWireError("truncated applied-request table") }
            var session = Session(floor: floor, applied: [], lastAdvance: last)
            for _ in 0..<appliedCount {
                session.applied.insert(buffer.readInteger(endianness: .little, as: UInt64.self)!)
            }
            sessions[SessionID(proposer: proposer, incarnation: incarnation)] = session
        }
    }
}

/// A shard's replicated state as it travels in a Raft snapshot: the applied-request table, then the
/// engine's own snapshot. Format: magic "FERRYSS1" (8) · table · engine snapshot. A snapshot without
/// the magic is an engine snapshot alone (written before the table existed).
enum ShardSnapshotCodec {
    static let magic: UInt64 = 0x3153_5359_5252_4546

    static func encode(applied: AppliedRequests, engineSnapshot: [UInt8]) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(engineSnapshot.count + 64)
        buffer.writeInteger(magic, endianness: .little)
        applied.encode(to: &buffer)
        buffer.writeBytes(engineSnapshot)
        return Array(buffer.readableBytesView)
    }

    static func decode(_ data: [UInt8]) throws(RaftWireError) -> (
        applied: AppliedRequests, engineSnapshot: ArraySlice<UInt8>
    ) {
        var buffer = ByteBuffer(bytes: data)
        guard buffer.getInteger(at: buffer.readerIndex, endianness: .little, as: UInt64.self) == magic else {
            return (AppliedRequests(), data[...])
        }
        buffer.moveReaderIndex(forwardBy: 8)
        let applied = try AppliedRequests(reading: &buffer)
        return (applied, data[(data.count - buffer.readableBytes)...])
    }
}
