import NIOCore

/// Who proposed a client command, unique across restarts: the node, the node's incarnation (a random
/// number drawn each time the shard's driver starts) and the driver's sequence number for it. A replayed
/// entry of an earlier run has another incarnation, so it can never be taken for a request of this run.
package struct RequestKey: Hashable, Sendable, Comparable {
    var proposer: UInt64
    var incarnation: UInt64
    var sequence: UInt64

    package static func < (left: RequestKey, right: RequestKey) -> Bool {
        (left.proposer, left.incarnation, left.sequence) < (right.proposer, right.incarnation, right.sequence)
    }
}

/// A command on its way into a shard's log: who proposed it (so that node can answer its client when
/// the entry applies, and every replica can apply it once however often it is proposed), the leader's
/// timestamp, and the encoded command.
///
/// Format 2 (written): magic (8) · proposer (8) · incarnation (8) · sequence (8) · sequence floor (8) ·
/// timestamp (8) · command length (4) · command. Format 1 (read from older logs) has no magic,
/// incarnation or floor: proposer (8) · sequence (8) · timestamp (8) · length (4) · command.
package struct ProposalEnvelope: Equatable, Sendable {
    var proposer: UInt64
    /// The proposer's incarnation; 0 for format 1 entries and for the leader's own commands.
    var incarnation: UInt64
    /// The proposer's sequence number of this command (0 for the leader's own commands).
    var id: UInt64
    /// Every sequence number of this incarnation below this one was answered or given up by the proposer:
    /// the replicas may forget them (Raft dissertation §6.3, the client's acknowledgement of responses).
    var sequenceFloor: UInt64
    /// Milliseconds since the epoch, stamped by the leader when it proposes (0 until then).
    var timestampMilliseconds: Int64
    /// `LoggedCommand(command, timestampMilliseconds: 0).encoded()`.
    var command: [UInt8]

    /// Marks format 2 ("FERRYPE2"); no node id of format 1 is this large.
    static let magic: UInt64 = 0x3245_5059_5252_4546
    static let headerSize = 52
    static let formatOneHeaderSize = 28

    var key: RequestKey { RequestKey(proposer: proposer, incarnation: incarnation, sequence: id) }

    func encoded() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.headerSize + command.count)
        for value in [Self.magic, proposer, incarnation, id, sequenceFloor, UInt64(bitPattern: timestampMilliseconds)] {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        withUnsafeBytes(of: UInt32(command.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: command)
        return bytes
    }

    init(
        proposer: UInt64, incarnation: UInt64 = 0, id: UInt64, sequenceFloor: UInt64 = 0,
        timestampMilliseconds: Int64, command: [UInt8]
    ) {
        self.proposer = proposer
        self.incarnation = incarnation
        self.id = id
        self.sequenceFloor = sequenceFloor
        self.timestampMilliseconds = timestampMilliseconds
        self.command = command
    }

    init(decoding bytes: [UInt8]) throws(RaftWireError) {
        var buffer = ByteBuffer(bytes: bytes)
        try self.init(reading: &buffer)
        guard buffer.readableBytes == 0 else { throw RaftWireError("proposal has trailing bytes") }
    }

    init(reading buffer: inout ByteBuffer) throws(RaftWireError) {
        guard let first = buffer.readInteger(endianness: .little, as: UInt64.self) else {
            throw RaftWireError("truncated proposal")
        }
        if first == Self.magic {
            guard let proposer = buffer.readInteger(endianness: .little, as: UInt64.self),
                let incarnation = buffer.readInteger(endianness: .little, as: UInt64.self),
                let id = buffer.readInteger(endianness: .little, as: UInt64.self),
                let floor = buffer.readInteger(endianness: .little, as: UInt64.self),
                let timestamp = buffer.readInteger(endianness: .little, as: Int64.self),
                let length = buffer.readInteger(endianness: .little, as: UInt32.self),
                let command = buffer.readBytes(length: Int(length))
            else { throw RaftWireError("truncated proposal") }
            self.init(
                proposer: proposer, incarnation: incarnation, id: id, sequenceFloor: floor,
                timestampMilliseconds: timestamp, command: command)
        } else {
            guard let id = buffer.readInteger(endianness: .little, as: UInt64.self),
                let timestamp = buffer.readInteger(endianness: .little, as: Int64.self),
                let length = buffer.readInteger(endianness: .little, as: UInt32.self),
                let command = buffer.readBytes(length: Int(length))
            else { throw RaftWireError("truncated proposal") }
            self.init(proposer: first, id: id, timestampMilliseconds: timestamp, command: command)
        }
    }

    /// A batch of envelopes in one peer frame.
    static func encodeBatch(_ envelopes: [ProposalEnvelope]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(envelopes.count), endianness: .little)
        for envelope in envelopes { buffer.writeBytes(envelope.encoded()) }
        return buffer
    }

    package static func decodeBatch(_ input: ByteBuffer) throws(RaftWireError) -> [ProposalEnvelope] {
        var buffer = input
        guard let count = buffer.readInteger(endianness: .little, as: UInt32.self),
            Int(count) <= buffer.readableBytes / formatOneHeaderSize
        else { throw RaftWireError("bad proposal batch") }
        var envelopes: [ProposalEnvelope] = []
        for _ in 0..<count { envelopes.append(try ProposalEnvelope(reading: &buffer)) }
        guard buffer.readableBytes == 0 else { throw RaftWireError("proposal batch has trailing bytes") }
        return envelopes
    }
}

/// The leader's refusal of forwarded proposals: their keys and the leader it knows of (0 if none).
package struct ForwardRejection: Equatable, Sendable {
    var keys: [RequestKey]
    var leader: UInt64

    func encoded() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(leader, endianness: .little)
        buffer.writeInteger(UInt32(keys.count), endianness: .little)
        for key in keys {
            buffer.writeInteger(key.incarnation, endianness: .little)
            buffer.writeInteger(key.sequence, endianness: .little)
        }
        return buffer
    }

    init(keys: [RequestKey], leader: UInt64) {
        self.keys = keys
        self.leader = leader
    }

    /// Decodes a rejection sent to `proposer` (the keys name this node's requests).
    package init(decoding input: ByteBuffer, proposer: UInt64) throws(RaftWireError) {
        var buffer = input
        guard let leader = buffer.readInteger(endianness: .little, as: UInt64.self),
            let count = buffer.readInteger(endianness: .little, as: UInt32.self),
            Int(count) * 16 == buffer.readableBytes
        else { throw RaftWireError("bad rejection") }
        self.leader = leader
        self.keys = (0..<count).map { _ in
            RequestKey(
                proposer: proposer, incarnation: buffer.readInteger(endianness: .little, as: UInt64.self)!,
                sequence: buffer.readInteger(endianness: .little, as: UInt64.self)!)
        }
    }
}
