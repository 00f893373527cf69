import NIOCore

/// A command on its way into a shard's log: who proposed it (so that node can answer its client when
/// the entry applies), the proposer's id for it, the leader's timestamp, and the encoded command.
struct ProposalEnvelope: Equatable, Sendable {
    var proposer: UInt64
    var id: UInt64
    /// Milliseconds since the epoch, stamped by the leader when it proposes (0 until then).
    var timestampMilliseconds: Int64
    /// `LoggedCommand(command, timestampMilliseconds: 0).encoded()`.
    var command: [UInt8]

    static let headerSize = 28

    func encoded() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.headerSize + command.count)
        withUnsafeBytes(of: proposer.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: id.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: timestampMilliseconds.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(command.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: command)
        return bytes
    }

    init(proposer: UInt64, id: UInt64, timestampMilliseconds: Int64, command: [UInt8]) {
        self.proposer = proposer
        self.id = id
        self.timestampMilliseconds = timestampMilliseconds
        self.command = command
    }

    init(decoding bytes: [UInt8]) throws(RaftWireError) {
        var buffer = ByteBuffer(bytes: bytes)
        try self.init(reading: &buffer)
        guard buffer.readableBytes == 0 else { throw RaftWireError("proposal has trailing bytes") }
    }

    init(reading buffer: inout ByteBuffer) throws(RaftWireError) {
        guard let proposer = buffer.readInteger(endianness: .little, as: UInt64.self),
            let id = buffer.readInteger(endianness: .little, as: UInt64.self),
            let timestamp = buffer.readInteger(endianness: .little, as: Int64.self),
            let length = buffer.readInteger(endianness: .little, as: UInt32.self),
            let command = buffer.readBytes(length: Int(length))
        else { throw RaftWireError("truncated proposal") }
        self.init(proposer: proposer, id: id, timestampMilliseconds: timestamp, command: command)
    }

    /// A batch of envelopes in one peer frame.
    static func encodeBatch(_ envelopes: [ProposalEnvelope]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(envelopes.count), endianness: .little)
        for envelope in envelopes { buffer.writeBytes(envelope.encoded()) }
        return buffer
    }

    static func decodeBatch(_ input: ByteBuffer) throws(RaftWireError) -> [ProposalEnvelope] {
        var buffer = input
        guard let count = buffer.readInteger(endianness: .little, as: UInt32.self),
            Int(count) <= buffer.readableBytes / headerSize
        else { throw RaftWireError("bad proposal batch") }
        var envelopes: [ProposalEnvelope] = []
        for _ in 0..<count { envelopes.append(try ProposalEnvelope(reading: &buffer)) }
        guard buffer.readableBytes == 0 else { throw RaftWireError("proposal batch has trailing bytes") }
        return envelopes
    }
}

/// The leader's refusal of forwarded proposals: their ids and the leader it knows of (0 if none).
struct ForwardRejection: Equatable, Sendable {
    var ids: [UInt64]
    var leader: UInt64

    func encoded() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(leader, endianness: .little)
        buffer.writeInteger(UInt32(ids.count), endianness: .little)
        for id in ids { buffer.writeInteger(id, endianness: .little) }
        return buffer
    }

    init(ids: [UInt64], leader: UInt64) {
        self.ids = ids
        self.leader = leader
    }

    init(decoding input: ByteBuffer) throws(RaftWireError) {
        var buffer = input
        guard let leader = buffer.readInteger(endianness: .little, as: UInt64.self),
            let count = buffer.readInteger(endianness: .little, as: UInt32.self),
            Int(count) * 8 == buffer.readableBytes
        else { throw RaftWireError("bad rejection") }
        self.leader = leader
        self.ids = (0..<count).map { _ in buffer.readInteger(endianness: .little, as: UInt64.self)! }
    }
}
