/// Where a message is in its life.
enum MessageState: Sendable, Equatable {
    /// Sent with a delay that has not run out.
    case delayed
    /// Can be received.
    case available
    /// Received; hidden until its visibility timeout runs out.
    case inFlight
}

/// A message as the engine keeps it, compactly: a million queued messages are a million of these. The
/// message id and body digest are held as 128-bit values when they have the canonical form the engine
/// gives them (rendered when read), and the fields most messages leave unset (attributes, FIFO fields,
/// redrive marks) live in one shared box that plain messages do not allocate.
struct StoredMessage: Sendable {
    /// The engine-wide sequence number; orders messages and names them in receipt handles.
    let sequence: UInt64
    let body: String
    let senderId: String
    /// Epoch milliseconds when first sent (kept across redrive; retention counts from it).
    let sentTimestamp: Int64
    private let messageIdBits: Bits128
    private let md5OfBodyBits: Bits128
    /// When a delayed or in-flight message becomes available, epoch milliseconds.
    var visibleAtMilliseconds: Int64
    private var firstReceive = Self.never
    private var lastReceive = Self.never
    private var rare: RareFieldsBox?
    private let size: UInt32
    var receiveCount: UInt32 = 0
    /// Bumped on every state change; index entries carrying an older version are stale.
    var version: UInt32 = 0
    var state: MessageState

    private static let never = Int64.min

    init(
        sequence: UInt64, messageId: String, body: String, md5OfBody: String, messageAttributes: MessageAttributes,
        md5OfMessageAttributes: String?, systemAttributes: MessageAttributes, md5OfSystemAttributes: String?,
        senderId: String, sentTimestamp: Int64, messageGroupId: String?, messageDeduplicationId: String?,
        fifoSequenceNumber: UInt64?, sizeBytes: Int, deadLetterQueueSourceArn: String? = nil,
        originQueueName: String? = nil, state: MessageState, visibleAtMilliseconds: Int64, receiveCount: UInt32 = 0,
        firstReceiveTimestamp: Int64? = nil, lastReceiveTimestamp: Int64? = nil, version: UInt32 = 0
    ) {
        precondition(sizeBytes >= 0 && sizeBytes <= Int(UInt32.max), "message size \(sizeBytes)")
        self.sequence = sequence
        self.body = body
        self.senderId = senderId
        self.sentTimestamp = sentTimestamp
        let idBits = Bits128(uuid: messageId)
        let md5Bits = Bits128(hex: md5OfBody)
        messageIdBits = idBits ?? Bits128()
        md5OfBodyBits = md5Bits ?? Bits128()
        self.visibleAtMilliseconds = visibleAtMilliseconds
        self.size = UInt32(sizeBytes)
        self.receiveCount = receiveCount
        self.version = version
        self.state = state
        firstReceive = firstReceiveTimestamp ?? Self.never
        lastReceive = lastReceiveTimestamp ?? Self.never
        rare =
            RareFields(
                messageIdText: idBits == nil ? messageId : nil, md5OfBodyText: md5Bits == nil ? md5OfBody : nil,
                messageAttributes: messageAttributes, md5OfMessageAttributes: md5OfMessageAttributes,
                systemAttributes: systemAttributes, md5OfSystemAttributes: md5OfSystemAttributes,
                messageGroupId: messageGroupId, messageDeduplicationId: messageDeduplicationId,
                fifoSequenceNumber: fifoSequenceNumber, deadLetterQueueSourceArn: deadLetterQueueSourceArn,
                originQueueName: originQueueName
            ).boxed
    }

    var messageId: String { rare?.value.messageIdText ?? messageIdBits.uuidText }
    var md5OfBody: String { rare?.value.md5OfBodyText ?? md5OfBodyBits.hexText }
    var messageAttributes: MessageAttributes { rare?.value.messageAttributes ?? [:] }
    var md5OfMessageAttributes: String? { rare?.value.md5OfMessageAttributes }
    var systemAttributes: MessageAttributes { rare?.value.systemAttributes ?? [:] }
    var md5OfSystemAttributes: String? { rare?.value.md5OfSystemAttributes }
    var messageGroupId: String? { rare?.value.messageGroupId }
    var messageDeduplicationId: String? { rare?.value.messageDeduplicationId }
    /// FIFO sequence number, increasing per queue.
    var fifoSequenceNumber: UInt64? { rare?.value.fifoSequenceNumber }
    /// Size counted against MaximumMessageSize, in bytes.
    var sizeBytes: Int { Int(size) }
    /// Set when the message came from a source queue by redrive: that queue's ARN.
    var deadLetterQueueSourceArn: String? {
        get { rare?.value.deadLetterQueueSourceArn }
        set { updateRare { $0.deadLetterQueueSourceArn = newValue } }
    }
    /// The queue a move task without destination returns the message to.
    var originQueueName: String? {
        get { rare?.value.originQueueName }
        set { updateRare { $0.originQueueName = newValue } }
    }
    var firstReceiveTimestamp: Int64? {
        get { firstReceive == Self.never ? nil : firstReceive }
        set { firstReceive = newValue ?? Self.never }
    }
    var lastReceiveTimestamp: Int64? {
        get { lastReceive == Self.never ? nil : lastReceive }
        set { lastReceive = newValue ?? Self.never }
    }

    private mutating func updateRare(_ change: (inout RareFields) -> Void) {
        var fields = rare?.value ?? RareFields()
        change(&fields)
        rare = fields.boxed
    }
}

/// The fields of a message that most messages leave unset.
private struct RareFields: Sendable {
    var messageIdText: String?
    var md5OfBodyText: String?
    var messageAttributes: MessageAttributes = [:]
    var md5OfMessageAttributes: String?
    var systemAttributes: MessageAttributes = [:]
    var md5OfSystemAttributes: String?
    var messageGroupId: String?
    var messageDeduplicationId: String?
    var fifoSequenceNumber: UInt64?
    var deadLetterQueueSourceArn: String?
    var originQueueName: String?

    /// A shared box of these fields; nil when all are unset.
    var boxed: RareFieldsBox? {
        let isUnset =
            messageIdText == nil && md5OfBodyText == nil && messageAttributes.isEmpty && md5OfMessageAttributes == nil
            && systemAttributes.isEmpty && md5OfSystemAttributes == nil && messageGroupId == nil
            && messageDeduplicationId == nil && fifoSequenceNumber == nil && deadLetterQueueSourceArn == nil
            && originQueueName == nil
        return isUnset ? nil : RareFieldsBox(self)
    }
}

/// Immutable: a change makes a new box, so copies of a message never share a change.
private final class RareFieldsBox: Sendable {
    let value: RareFields

    init(_ value: RareFields) { self.value = value }
}

/// 128 bits held as two words, for message ids (canonical lowercase UUID text) and MD5 digests (32
/// lowercase hex digits): 16 bytes in the message instead of a string and its heap storage.
struct Bits128: Sendable, Equatable {
    var high: UInt64 = 0
    var low: UInt64 = 0

    init() {}

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The bits of 32 lowercase hex digits; nil for any other text.
    init?(hex text: String) {
        guard let bits = Self.parse(text, uuid: false) else { return nil }
        self = bits
    }

    /// The bits of a UUID in canonical lowercase form (8-4-4-4-12); nil for any other text.
    init?(uuid text: String) {
        guard let bits = Self.parse(text, uuid: true) else { return nil }
        self = bits
    }

    /// Whether a UUID's text has a dash at `offset`.
    @inline(__always)
    private static func isDash(_ offset: Int) -> Bool { offset == 8 || offset == 13 || offset == 18 || offset == 23 }

    private static func parse(_ text: String, uuid: Bool) -> Bits128? {
        var text = text
        let length = uuid ? 36 : 32
        return text.withUTF8 { bytes -> Bits128? in
            guard bytes.count == length else { return nil }
            var bits = Bits128()
            var nibbles = 0
            for offset in 0..<length {
                let byte = bytes[offset]
                if uuid && isDash(offset) {
                    guard byte == UInt8(ascii: "-") else { return nil }
                    continue
                }
                let value: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte &- UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte &- UInt8(ascii: "a") &+ 10
                default: return nil
                }
                if nibbles < 16 {
                    bits.high = bits.high << 4 | UInt64(value)
                } else {
                    bits.low = bits.low << 4 | UInt64(value)
                }
                nibbles += 1
            }
            return bits
        }
    }

    private func render(uuid: Bool) -> String {
        let length = uuid ? 36 : 32
        return String(unsafeUninitializedCapacity: length) { buffer in
            var nibble = 0
            for offset in 0..<length {
                if uuid && Self.isDash(offset) {
                    buffer[offset] = UInt8(ascii: "-")
                    continue
                }
                let word = nibble < 16 ? high : low
                let digit = UInt8(truncatingIfNeeded: (word >> UInt64(60 - (nibble & 15) * 4)) & 0xf)
                buffer[offset] = digit < 10 ? UInt8(ascii: "0") &+ digit : UInt8(ascii: "a") &+ digit &- 10
                nibble += 1
            }
            return length
        }
    }

    var hexText: String { render(uuid: false) }
    var uuidText: String { render(uuid: true) }
}

/// A scheduled wake-up of one message: its delay or visibility timeout runs out.
struct MessageTimer: Comparable, Sendable {
    var atMilliseconds: Int64
    var sequence: UInt64
    var version: UInt32

    /// A total order (time, message, version): two timers of one message due at the same millisecond
    /// leave the heap in one order whatever its history, so every replica drops the same leftovers.
    static func < (left: Self, right: Self) -> Bool {
        (left.atMilliseconds, left.sequence, left.version) < (right.atMilliseconds, right.sequence, right.version)
    }
}

/// An available message of a standard queue, ordered oldest first.
struct ReadyMessage: Comparable, Sendable {
    var sequence: UInt64
    var version: UInt32

    static func < (left: Self, right: Self) -> Bool { (left.sequence, left.version) < (right.sequence, right.version) }
}

/// A retention deadline ordering: oldest sent first.
struct RetentionEntry: Comparable, Sendable {
    var sentTimestamp: Int64
    var sequence: UInt64

    static func < (left: Self, right: Self) -> Bool {
        (left.sentTimestamp, left.sequence) < (right.sentTimestamp, right.sequence)
    }
}

/// A FIFO message group that may be ready, ordered by when its head message became visible (sent, its
/// delay ended, or back from flight), then by its sequence: groups are served in that order, so a message
/// back from flight queues behind groups whose heads were visible before it.
struct ReadyGroup: Comparable, Sendable {
    var visibleAtMilliseconds: Int64
    var headSequence: UInt64
    var groupId: String

    static func < (left: Self, right: Self) -> Bool {
        if left.visibleAtMilliseconds != right.visibleAtMilliseconds {
            return left.visibleAtMilliseconds < right.visibleAtMilliseconds
        }
        if left.headSequence != right.headSequence { return left.headSequence < right.headSequence }
        return MessageDigest.utf8Less(left.groupId, right.groupId)
    }
}
