import NIOCore
import Raft

/// Why bytes from a peer or the log are not a valid Raft message, entry or snapshot.
public struct RaftWireError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Encodes Raft messages for peer frames, and snapshots' membership for the log. Little-endian; every
/// count is bounded before anything is allocated.
public enum RaftWireCodec {
    /// Most entries one message may carry.
    static let entriesMax = 1 << 20
    /// Most nodes one membership may name.
    static let membershipNodesMax = 1_024

    public static func encode(_ message: Message) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(64 + message.entries.reduce(0) { $0 + 32 + $1.data.count })
        buffer.writeInteger(message.kind.rawValue)
        buffer.writeInteger(UInt8(message.reject ? 1 : 0))
        for value in [message.from, message.to, message.term, message.logTerm, message.index, message.commit] {
            buffer.writeInteger(value, endianness: .little)
        }
        buffer.writeInteger(message.rejectHint, endianness: .little)
        writeBytes(message.context, to: &buffer)
        buffer.writeInteger(UInt32(message.entries.count), endianness: .little)
        for entry in message.entries { write(entry, to: &buffer) }
        if let snapshot = message.snapshot {
            buffer.writeInteger(UInt8(1))
            write(snapshot, to: &buffer)
        } else {
            buffer.writeInteger(UInt8(0))
        }
        return buffer
    }

    /// The kind of Raft message `payload` holds, read without decoding the rest (for diagnostics).
    package static func messageKind(_ payload: ByteBuffer) -> MessageKind? {
        payload.getInteger(at: payload.readerIndex, as: UInt8.self).flatMap(MessageKind.init(rawValue:))
    }

    public static func decodeMessage(_ input: ByteBuffer) throws(RaftWireError) -> Message {
        var buffer = input
        guard let rawKind = buffer.readInteger(as: UInt8.self), let kind = MessageKind(rawValue: rawKind) else {
            throw RaftWireError("unknown message kind")
        }
        guard let reject = buffer.readInteger(as: UInt8.self), reject <= 1 else { throw RaftWireError("bad reject") }
        var fields: [UInt64] = []
        for _ in 0..<7 { fields.append(try readUInt64(&buffer)) }
        let context = try readBytes(&buffer)
        let count = try readCount(&buffer, max: entriesMax)
        var entries: [Entry] = []
        entries.reserveCapacity(min(count, 4_096))
        for _ in 0..<count { entries.append(try readEntry(&buffer)) }
        var snapshot: Snapshot?
        switch buffer.readInteger(as: UInt8.self) {
        case 0: snapshot = nil
        case 1: snapshot = try readSnapshot(&buffer)
        default: throw RaftWireError("bad snapshot flag")
        }
        guard buffer.readableBytes == 0 else { throw RaftWireError("\(buffer.readableBytes) trailing bytes") }
        return Message(
            kind: kind, from: fields[0], to: fields[1], term: fields[2], logTerm: fields[3], index: fields[4],
            entries: entries, commit: fields[5], reject: reject == 1, rejectHint: fields[6], snapshot: snapshot,
            context: context)
    }

    static func write(_ entry: Entry, to buffer: inout ByteBuffer) {
        buffer.writeInteger(entry.term, endianness: .little)
        buffer.writeInteger(entry.index, endianness: .little)
        buffer.writeInteger(entry.kind.rawValue)
        writeBytes(entry.data, to: &buffer)
    }

    static func readEntry(_ buffer: inout ByteBuffer) throws(RaftWireError) -> Entry {
        let term = try readUInt64(&buffer)
        let index = try readUInt64(&buffer)
        guard let rawKind = buffer.readInteger(as: UInt8.self), let kind = EntryKind(rawValue: rawKind) else {
            throw RaftWireError("bad entry kind")
        }
        return Entry(term: term, index: index, kind: kind, data: try readBytes(&buffer))
    }

    static func write(_ snapshot: Snapshot, to buffer: inout ByteBuffer) {
        buffer.writeInteger(snapshot.index, endianness: .little)
        buffer.writeInteger(snapshot.term, endianness: .little)
        write(snapshot.membership, to: &buffer)
        writeBytes(snapshot.data, to: &buffer)
    }

    static func readSnapshot(_ buffer: inout ByteBuffer) throws(RaftWireError) -> Snapshot {
        let index = try readUInt64(&buffer)
        let term = try readUInt64(&buffer)
        let membership = try readMembership(&buffer)
        return Snapshot(index: index, term: term, membership: membership, data: try readBytes(&buffer))
    }

    public static func write(_ membership: Membership, to buffer: inout ByteBuffer) {
        for set in [membership.voters, membership.outgoingVoters, membership.learners, membership.learnersNext] {
            buffer.writeInteger(UInt32(set.count), endianness: .little)
            for node in set.sorted() { buffer.writeInteger(node, endianness: .little) }
        }
    }

    public static func readMembership(_ buffer: inout ByteBuffer) throws(RaftWireError) -> Membership {
        var sets: [Set<NodeID>] = []
        for _ in 0..<4 {
            let count = try readCount(&buffer, max: membershipNodesMax)
            var set = Set<NodeID>()
            for _ in 0..<count { set.insert(try readUInt64(&buffer)) }
            sets.append(set)
        }
        return Membership(voters: sets[0], outgoingVoters: sets[1], learners: sets[2], learnersNext: sets[3])
    }

    static func writeBytes(_ bytes: [UInt8], to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(bytes.count), endianness: .little)
        buffer.writeBytes(bytes)
    }

    static func readBytes(_ buffer: inout ByteBuffer) throws(RaftWireError) -> [UInt8] {
        let count = try readCount(&buffer, max: Int(UInt32.max))
        guard let bytes = buffer.readBytes(length: count) else { throw RaftWireError("truncated bytes") }
        return bytes
    }

    static func readUInt64(_ buffer: inout ByteBuffer) throws(RaftWireError) -> UInt64 {
        guard let value = buffer.readInteger(endianness: .little, as: UInt64.self) else {
            throw RaftWireError("truncated")
        }
        return value
    }

    static func readCount(_ buffer: inout ByteBuffer, max: Int) throws(RaftWireError) -> Int {
        guard let raw = buffer.readInteger(endianness: .little, as: UInt32.self) else {
            throw RaftWireError("truncated")
        }
        guard Int(raw) <= max, Int(raw) <= buffer.readableBytes else { throw RaftWireError("count \(raw) too large") }
        return Int(raw)
    }
}
