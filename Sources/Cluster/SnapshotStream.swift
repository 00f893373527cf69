import NIOCore
import Raft

/// A snapshot stream's name: the sending leader's incarnation and its count of streams, so pieces of a
/// stream from an earlier run or an older attempt are never taken for the current one's.
package struct SnapshotStreamID: Hashable, Sendable, CustomStringConvertible {
    package var incarnation: UInt64
    package var number: UInt64

    package init(incarnation: UInt64, number: UInt64) {
        self.incarnation = incarnation
        self.number = number
    }

    package var description: String { "\(incarnation).\(number)" }
}

/// One piece of a snapshot on its way from a shard's leader to a follower: a slice of the Raft snapshot
/// message as `RaftWireCodec` encodes it. Layout, little-endian: incarnation u64 | stream u64 | total u64
/// | offset u64 | bytes.
package struct SnapshotChunk: Equatable, Sendable {
    package var stream: SnapshotStreamID
    /// The whole encoded message's length.
    package var total: UInt64
    /// Where `bytes` start in it.
    package var offset: UInt64
    package var bytes: ByteBuffer

    static let headerSize = 32

    package init(stream: SnapshotStreamID, total: UInt64, offset: UInt64, bytes: ByteBuffer) {
        self.stream = stream
        self.total = total
        self.offset = offset
        self.bytes = bytes
    }

    package func encoded() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(Self.headerSize + bytes.readableBytes)
        for value in [stream.incarnation, stream.number, total, offset] {
            buffer.writeInteger(value, endianness: .little)
        }
        buffer.writeImmutableBuffer(bytes)
        return buffer
    }

    package init(decoding payload: ByteBuffer) throws(RaftWireError) {
        var buffer = payload
        guard let incarnation = buffer.readInteger(endianness: .little, as: UInt64.self),
            let number = buffer.readInteger(endianness: .little, as: UInt64.self),
            let total = buffer.readInteger(endianness: .little, as: UInt64.self),
            let offset = buffer.readInteger(endianness: .little, as: UInt64.self)
        else { throw RaftWireError("snapshot chunk of \(payload.readableBytes) bytes") }
        guard buffer.readableBytes > 0, offset < total, UInt64(buffer.readableBytes) <= total - offset else {
            throw RaftWireError("snapshot chunk of \(buffer.readableBytes) bytes at \(offset) of \(total)")
        }
        self.init(
            stream: SnapshotStreamID(incarnation: incarnation, number: number), total: total, offset: offset,
            bytes: buffer)
    }
}

/// A follower's answer to snapshot pieces: how many bytes of the stream it holds, from the start, in
/// order. Layout, little-endian: incarnation u64 | stream u64 | received u64.
package struct SnapshotAck: Equatable, Sendable {
    package var stream: SnapshotStreamID
    package var received: UInt64

    package init(stream: SnapshotStreamID, received: UInt64) {
        self.stream = stream
        self.received = received
    }

    package func encoded() -> ByteBuffer {
        var buffer = ByteBuffer()
        for value in [stream.incarnation, stream.number, received] { buffer.writeInteger(value, endianness: .little) }
        return buffer
    }

    package init(decoding payload: ByteBuffer) throws(RaftWireError) {
        var buffer = payload
        guard let incarnation = buffer.readInteger(endianness: .little, as: UInt64.self),
            let number = buffer.readInteger(endianness: .little, as: UInt64.self),
            let received = buffer.readInteger(endianness: .little, as: UInt64.self), buffer.readableBytes == 0
        else { throw RaftWireError("snapshot acknowledgment of \(payload.readableBytes) bytes") }
        self.init(stream: SnapshotStreamID(incarnation: incarnation, number: number), received: received)
    }
}

/// A snapshot on its way to one follower (the leader's side).
struct OutgoingSnapshot {
    var stream: SnapshotStreamID
    /// The leader's term when Raft asked for it.
    var term: UInt64
    /// The index the snapshot covers: the leader keeps the entries after it while it streams.
    var snapshotIndex: UInt64
    /// The encoded Raft snapshot message.
    var bytes: ByteBuffer
    /// Bytes the follower said it holds.
    var acknowledged = 0
    /// The next byte to send.
    var nextOffset = 0
    /// When the follower last acknowledged new bytes (monotonic ms); nil until the first tick.
    var lastProgressMilliseconds: Int64?
    /// Resends in a row without progress.
    var stalls = 0
}

/// A snapshot arriving from one leader (the follower's side).
struct IncomingSnapshot {
    var stream: SnapshotStreamID
    var total: Int
    var bytes: ByteBuffer
    /// Pieces that arrived ahead of a gap, by offset.
    var ahead: [Int: ByteBuffer] = [:]
    /// Monotonic ms.
    var lastChunkMilliseconds: Int64

    /// Pieces kept ahead of a gap, at most.
    static let aheadMax = 64
}
