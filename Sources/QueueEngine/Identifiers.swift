import Crypto
import Foundation

/// Deterministic identifiers: message ids from (shard, sequence), receipt handles with a MAC.
struct Identifiers: Sendable {
    let shardId: UInt32
    let key: SymmetricKey

    init(shardId: UInt32, receiptHandleKey: [UInt8]) {
        self.shardId = shardId
        self.key = SymmetricKey(data: receiptHandleKey)
    }

    /// A UUID-formatted message id derived from the shard and the engine's message sequence number.
    func messageId(sequence: UInt64) -> String {
        var input: [UInt8] = [0x6d]
        append(UInt64(shardId), to: &input)
        append(sequence, to: &input)
        var bytes = Array(HMAC<SHA256>.authenticationCode(for: input, using: key).prefix(16))
        bytes[6] = (bytes[6] & 0x0f) | 0x40
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let hex = MessageDigest.hex(bytes)
        let characters = Array(hex)
        return String(characters[0..<8]) + "-" + String(characters[8..<12]) + "-" + String(characters[12..<16])
            + "-" + String(characters[16..<20]) + "-" + String(characters[20..<32])
    }

    /// What a receipt handle names: one receive of one message of one queue incarnation.
    struct Receipt: Equatable {
        var queueIncarnation: UInt64
        var sequence: UInt64
        var receiveCount: UInt32
    }

    private static let receiptVersion: UInt8 = 1
    private static let receiptPayloadBytes = 21
    private static let receiptMacBytes = 16

    /// An opaque handle: version, queue incarnation, message sequence, receive count and a MAC that also
    /// covers the queue name, so a handle is valid only for the queue it came from.
    func receiptHandle(_ receipt: Receipt, queueName: String) -> String {
        var payload: [UInt8] = [Self.receiptVersion]
        append(receipt.queueIncarnation, to: &payload)
        append(receipt.sequence, to: &payload)
        append(UInt64(receipt.receiveCount), to: &payload, bytes: 4)
        payload.append(contentsOf: mac(payload, queueName: queueName))
        return Data(payload).base64EncodedString()
    }

    /// The receipt a handle names, or nil when it is malformed or its MAC does not verify.
    func receipt(fromHandle handle: String, queueName: String) -> Receipt? {
        guard handle.utf8.count <= 1024, let data = Data(base64Encoded: handle),
            data.count == Self.receiptPayloadBytes + Self.receiptMacBytes
        else { return nil }
        let bytes = [UInt8](data)
        let payload = Array(bytes[0..<Self.receiptPayloadBytes])
        guard payload[0] == Self.receiptVersion else { return nil }
        let expected = mac(payload, queueName: queueName)
        var difference: UInt8 = 0
        for (left, right) in zip(expected, bytes[Self.receiptPayloadBytes...]) { difference |= left ^ right }
        guard difference == 0 else { return nil }
        return Receipt(
            queueIncarnation: read(payload, at: 1, bytes: 8), sequence: read(payload, at: 9, bytes: 8),
            receiveCount: UInt32(read(payload, at: 17, bytes: 4)))
    }

    private func mac(_ payload: [UInt8], queueName: String) -> [UInt8] {
        var input = payload
        input.append(contentsOf: queueName.utf8)
        return Array(HMAC<SHA256>.authenticationCode(for: input, using: key).prefix(Self.receiptMacBytes))
    }

    private func append(_ value: UInt64, to bytes: inout [UInt8], bytes count: Int = 8) {
        for index in stride(from: count - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: value >> (UInt64(index) * 8)))
        }
    }

    private func read(_ bytes: [UInt8], at offset: Int, bytes count: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in offset..<(offset + count) { value = value << 8 | UInt64(bytes[index]) }
        return value
    }
}
