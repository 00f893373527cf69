import Crypto
import Foundation

/// Deterministic identifiers: message ids from (shard, sequence), receipt handles with a MAC.
struct Identifiers: Sendable {
    let shardId: UInt32
    /// HMAC-SHA256 keyed with the receipt-handle key, copied for each use (keying costs more than hashing).
    private let keyedMAC: HMAC<SHA256>
    /// Two 64-bit salts derived from the key, so message ids differ between deployments.
    private let saltHigh: UInt64
    private let saltLow: UInt64

    init(shardId: UInt32, receiptHandleKey: [UInt8]) {
        self.shardId = shardId
        let key = SymmetricKey(data: receiptHandleKey)
        self.keyedMAC = HMAC<SHA256>(key: key)
        let salt = Array(HMAC<SHA256>.authenticationCode(for: Array("message-id".utf8), using: key))
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<8 {
            high = high << 8 | UInt64(salt[index])
            low = low << 8 | UInt64(salt[8 + index])
        }
        self.saltHigh = high
        self.saltLow = low
    }

    /// SplitMix64's finalizer: a bijection on 64-bit values that scatters neighbouring inputs.
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A UUID-formatted message id derived from the shard and the engine's message sequence number.
    /// Bytes 0–5 and 10–11 hold a bijective mix of the sequence, so ids of one shard never collide; the
    /// rest mixes in the shard and carries the UUID version (4) and variant bits.
    func messageId(sequence: UInt64) -> String {
        let unique = Self.mix(sequence ^ saltHigh)
        let other = Self.mix(sequence ^ saltLow ^ (UInt64(shardId) << 32 | UInt64(shardId)))
        // Byte i of the id is bits (120 - 8i) of `high` and `low` read as one big-endian 128-bit value.
        var high: UInt64 = 0
        var low: UInt64 = 0
        func set(_ index: Int, _ byte: UInt64) {
            let value = byte & 0xff
            if index < 8 {
                high |= value << UInt64(56 - index * 8)
            } else {
                low |= value << UInt64(56 - (index - 8) * 8)
            }
        }
        for index in 0..<6 { set(index, unique >> (UInt64(index) * 8)) }
        set(10, unique >> 48)
        set(11, unique >> 56)
        for (offset, index) in [6, 7, 8, 9, 12, 13, 14, 15].enumerated() { set(index, other >> (UInt64(offset) * 8)) }
        // Version 4 and the RFC 4122 variant.
        high = (high & ~(0xf0 << 8)) | (0x40 << 8)
        low = (low & ~(0xc0 << 56)) | (0x80 << 56)
        return Bits128(high: high, low: low).uuidText
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
        var code = keyedMAC
        code.update(data: payload)
        code.update(data: Array(queueName.utf8))
        return Array(code.finalize().prefix(Self.receiptMacBytes))
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
