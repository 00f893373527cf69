import Logging
import NIOCore
import PeerTransport
import Placement
import Raft

/// Snapshots of any size reach a lagging follower: Raft's snapshot message is encoded once and streamed
/// in pieces of `ShardSettings.snapshotChunkBytes`, at most `snapshotChunksInFlight` unacknowledged. The
/// follower acknowledges how many bytes it holds from the start (pieces that arrive ahead of a gap wait,
/// a bounded few); the leader goes back to that point when acknowledgments stop for
/// `snapshotChunkTimeoutMilliseconds`, and after `snapshotStallsMax` such resends reports the snapshot
/// failed (Raft sends it again once the follower answers). While a stream to a follower is under way in
/// this term, Raft's request to send that follower a snapshot again does not restart it, and the log
/// keeps every entry after the streaming snapshot (see `snapshotWritten`). The follower
/// steps the whole message into Raft when its last byte arrives; the leader reports the snapshot sent
/// when that last byte is acknowledged. The leader sends at most `snapshotBytesPerSecondMax` over all
/// streams: a piece the budget does not cover waits for a tick to refill it.
extension ShardDriver {
    // MARK: The leader's side

    /// Starts streaming Raft's snapshot message to its follower, replacing any stream to it; returns the
    /// first pieces to send.
    mutating func startSnapshotStream(_ message: Message) -> [PeerFrame] {
        if let current = outgoingSnapshots[message.to], current.term == message.term { return [] }
        let stream = SnapshotStreamID(incarnation: incarnation, number: nextSnapshotStream)
        nextSnapshotStream += 1
        let bytes = RaftWireCodec.encode(message)
        outgoingSnapshots[message.to] = OutgoingSnapshot(
            stream: stream, term: message.term, snapshotIndex: message.snapshot?.index ?? 0, bytes: bytes)
        actions.append(
            .log(
                .info,
                "\(shard): sending the snapshot at \(message.snapshot?.index ?? 0) (\(bytes.readableBytes) bytes) "
                    + "to node \(message.to) as stream \(stream)"))
        return snapshotChunkFrames(to: message.to)
    }

    /// The pieces the flow-control window lets go to `peer` now.
    mutating func snapshotChunkFrames(to peer: NodeID) -> [PeerFrame] {
        guard var outgoing = outgoingSnapshots[peer] else { return [] }
        let total = outgoing.bytes.readableBytes
        let chunkBytes = max(1, settings.snapshotChunkBytes)
        let window = chunkBytes * max(1, settings.snapshotChunksInFlight)
        var frames: [PeerFrame] = []
        while outgoing.nextOffset < total, outgoing.nextOffset - outgoing.acknowledged < window,
            snapshotSendBudget > 0
        {
            let length = min(chunkBytes, total - outgoing.nextOffset)
            if settings.snapshotBytesPerSecondMax != nil { snapshotSendBudget -= length }
            let slice = outgoing.bytes.getSlice(at: outgoing.bytes.readerIndex + outgoing.nextOffset, length: length)!
            let chunk = SnapshotChunk(
                stream: outgoing.stream, total: UInt64(total), offset: UInt64(outgoing.nextOffset), bytes: slice)
            frames.append(PeerFrame(kind: .snapshotChunk, shard: shard.rawValue, payload: chunk.encoded()))
            outgoing.nextOffset += length
        }
        outgoingSnapshots[peer] = outgoing
        return frames
    }

    /// A follower holds `ack.received` bytes of a stream: send more, or report the snapshot sent.
    package mutating func snapshotAck(_ ack: SnapshotAck, from peer: NodeID, now: ShardTime) -> [ShardAction] {
        guard var outgoing = outgoingSnapshots[peer], outgoing.stream == ack.stream else { return takeActions() }
        let received = Int(clamping: ack.received)
        if received >= outgoing.bytes.readableBytes {
            outgoingSnapshots[peer] = nil
            raft.reportSnapshotSent(peer)
            actions.append(.log(.info, "\(shard): node \(peer) received snapshot stream \(ack.stream)"))
            return takeActions()
        }
        if received == 0 && outgoing.acknowledged > 0 {
            // The follower lost what it held (it restarted): start over.
            outgoing.nextOffset = 0
        } else if received <= outgoing.acknowledged {
            return takeActions()  // a duplicate, or overtaken by a later one
        }
        outgoing.acknowledged = received
        outgoing.nextOffset = max(outgoing.nextOffset, received)
        outgoing.lastProgressMilliseconds = now.monotonicMilliseconds
        outgoing.stalls = 0
        outgoingSnapshots[peer] = outgoing
        let frames = snapshotChunkFrames(to: peer)
        if !frames.isEmpty { actions.append(.send(to: peer, frames)) }
        return takeActions()
    }

    /// On each tick: a stream without progress for the timeout goes back to the last acknowledged byte, or
    /// is given up; a stream arriving from a leader that stopped sending is dropped.
    mutating func tickSnapshotStreams(now: ShardTime) {
        let monotonic = now.monotonicMilliseconds
        if raft.role != .leader { outgoingSnapshots = [:] }  // a new leader sends its own
        let starved = snapshotSendBudget <= 0
        refillSnapshotBudget(now: monotonic)
        if starved {
            // Pieces that waited for the budget go now, as far as it reaches.
            for peer in outgoingSnapshots.keys.sorted() {
                let frames = snapshotChunkFrames(to: peer)
                if !frames.isEmpty { actions.append(.send(to: peer, frames)) }
            }
        }
        for peer in outgoingSnapshots.keys.sorted() {
            var outgoing = outgoingSnapshots[peer]!
            guard let last = outgoing.lastProgressMilliseconds else {
                outgoingSnapshots[peer]!.lastProgressMilliseconds = monotonic
                continue
            }
            guard monotonic - last >= settings.snapshotChunkTimeoutMilliseconds else { continue }
            if outgoing.nextOffset == outgoing.acknowledged && snapshotSendBudget <= 0 {
                // Nothing in flight: it waits for the budget, not for the follower.
                outgoingSnapshots[peer]!.lastProgressMilliseconds = monotonic
                continue
            }
            outgoing.stalls += 1
            guard outgoing.stalls <= settings.snapshotStallsMax else {
                outgoingSnapshots[peer] = nil
                raft.reportSnapshotFailed(peer)
                actions.append(
                    .log(
                        .warning,
                        "\(shard): snapshot stream \(outgoing.stream) to node \(peer) stalled at byte "
                            + "\(outgoing.acknowledged) of \(outgoing.bytes.readableBytes); Raft will send it again"))
                continue
            }
            outgoing.nextOffset = outgoing.acknowledged
            outgoing.lastProgressMilliseconds = monotonic
            outgoingSnapshots[peer] = outgoing
            let frames = snapshotChunkFrames(to: peer)
            if !frames.isEmpty { actions.append(.send(to: peer, frames)) }
        }
        let abandonedAfter = settings.snapshotChunkTimeoutMilliseconds * Int64(max(1, settings.snapshotStallsMax)) * 2
        for peer in incomingSnapshots.keys.sorted()
        where monotonic - incomingSnapshots[peer]!.lastChunkMilliseconds > abandonedAfter {
            actions.append(
                .log(.notice, "\(shard): dropping the unfinished snapshot stream \(incomingSnapshots[peer]!.stream)"))
            incomingSnapshots[peer] = nil
        }
    }

    /// Adds what `snapshotBytesPerSecondMax` allows since the last refill, up to one flow-control window.
    private mutating func refillSnapshotBudget(now: Int64) {
        guard let rate = settings.snapshotBytesPerSecondMax else {
            snapshotSendBudget = .max
            return
        }
        let burst = max(1, settings.snapshotChunkBytes) * max(1, settings.snapshotChunksInFlight)
        defer { snapshotBudgetRefilledAt = now }
        guard let last = snapshotBudgetRefilledAt, snapshotSendBudget != .max else {
            snapshotSendBudget = burst
            return
        }
        let elapsed = max(0, now - last)
        let added = Int(min(Int64(burst), Int64(rate) * elapsed / 1_000))
        snapshotSendBudget = min(burst, snapshotSendBudget + added)
    }

    // MARK: The follower's side

    /// A piece of a snapshot from `peer`: kept if it is the next in order; acknowledged with the bytes
    /// held; the whole message stepped into Raft when complete.
    package mutating func snapshotChunk(_ chunk: SnapshotChunk, from peer: NodeID, now: ShardTime) -> [ShardAction] {
        if completedSnapshots[peer] == chunk.stream {
            acknowledge(chunk.stream, received: chunk.total, to: peer)
            return takeActions()
        }
        guard chunk.total <= UInt64(settings.snapshotBytesMax) else {
            if chunk.offset == 0 {
                actions.append(
                    .log(
                        .error,
                        "\(shard): refusing a snapshot of \(chunk.total) bytes from node \(peer) "
                            + "(at most \(settings.snapshotBytesMax))"))
            }
            return takeActions()
        }
        var incoming: IncomingSnapshot
        if let current = incomingSnapshots[peer], current.stream == chunk.stream {
            incoming = current
        } else {
            // A new stream replaces an unfinished one, except that an older stream of the same leader run
            // never replaces a newer one. Its first piece to arrive need not be its start.
            if let current = incomingSnapshots[peer], current.stream.incarnation == chunk.stream.incarnation,
                current.stream.number > chunk.stream.number
            {
                return takeActions()
            }
            var bytes = ByteBuffer()
            bytes.reserveCapacity(min(Int(chunk.total), 64 << 20))
            incoming = IncomingSnapshot(
                stream: chunk.stream, total: Int(chunk.total), bytes: bytes, lastChunkMilliseconds: 0)
        }
        if chunk.total == UInt64(incoming.total), chunk.offset >= UInt64(incoming.bytes.readableBytes) {
            incoming.lastChunkMilliseconds = now.monotonicMilliseconds
            if chunk.offset > UInt64(incoming.bytes.readableBytes) {
                // Ahead of a gap: kept for when the gap fills, a bounded few.
                if incoming.ahead.count < IncomingSnapshot.aheadMax { incoming.ahead[Int(chunk.offset)] = chunk.bytes }
            } else {
                incoming.bytes.writeImmutableBuffer(chunk.bytes)
            }
            while let next = incoming.ahead.removeValue(forKey: incoming.bytes.readableBytes) {
                incoming.bytes.writeImmutableBuffer(next)
            }
            // Pieces the stream has now passed (a resend may have cut them differently) are dropped.
            incoming.ahead = incoming.ahead.filter { $0.key > incoming.bytes.readableBytes }
        }
        let received = incoming.bytes.readableBytes
        acknowledge(chunk.stream, received: UInt64(received), to: peer)
        guard received == incoming.total else {
            incomingSnapshots[peer] = incoming
            return takeActions()
        }
        incomingSnapshots[peer] = nil
        completedSnapshots[peer] = chunk.stream
        do {
            let message = try RaftWireCodec.decodeMessage(incoming.bytes)
            guard message.kind == .snapshot, message.from == peer else {
                throw RaftWireError("a \(message.kind) message from \(message.from) in node \(peer)'s snapshot stream")
            }
            raft.step(message)
        } catch {
            actions.append(.log(.error, "\(shard): snapshot stream \(chunk.stream) from node \(peer): \(error)"))
        }
        return takeActions()
    }

    private mutating func acknowledge(_ stream: SnapshotStreamID, received: UInt64, to peer: NodeID) {
        let ack = SnapshotAck(stream: stream, received: received)
        actions.append(
            .send(to: peer, [PeerFrame(kind: .snapshotAck, shard: shard.rawValue, payload: ack.encoded())]))
    }
}
