/// Checks at-least-once delivery: every message whose send was acknowledged must be received at least
/// once; duplicates are counted (SQS allows them) and messages received without an acknowledged send
/// are reported. Messages are named by a dense sequence number, so the sets are bitmaps.
public struct DeliveryChecker: Sendable, Equatable {
    private var acknowledged = Bitmap()
    private var received = Bitmap()
    public private(set) var sentCount = 0
    public private(set) var receivedCount = 0
    public private(set) var duplicateCount = 0

    public init() {}

    /// A send of message `sequence` was acknowledged.
    public mutating func sent(_ sequence: Int) {
        if acknowledged.insert(sequence) { sentCount += 1 }
    }

    /// Message `sequence` was received.
    public mutating func receivedMessage(_ sequence: Int) {
        receivedCount += 1
        if !received.insert(sequence) { duplicateCount += 1 }
    }

    /// The outcome so far.
    public var summary: DeliverySummary {
        let delivered = acknowledged.intersectionCount(received)
        return DeliverySummary(
            sent: sentCount, received: receivedCount, uniqueReceived: received.count, duplicates: duplicateCount,
            lost: sentCount - delivered, unexpected: received.count - delivered)
    }

    /// The first few acknowledged sequences never received.
    public func lostSequences(limit: Int) -> [Int] { acknowledged.subtracting(received, limit: limit) }
}

/// Counts of a delivery check.
public struct DeliverySummary: Sendable, Equatable, Codable {
    /// Sends acknowledged by the server.
    public var sent: Int
    /// Messages received, duplicates included.
    public var received: Int
    /// Distinct messages received.
    public var uniqueReceived: Int
    /// Receives of a message already received.
    public var duplicates: Int
    /// Acknowledged sends never received.
    public var lost: Int
    /// Distinct messages received whose send was never acknowledged (a send that failed on the client
    /// side but reached the queue), or that this run did not send.
    public var unexpected: Int
}

/// A growable set of non-negative integers.
struct Bitmap: Sendable, Equatable {
    private var words: [UInt64] = []
    private(set) var count = 0

    /// Inserts `value`; false if it was already present.
    mutating func insert(_ value: Int) -> Bool {
        precondition(value >= 0, "bitmap value \(value) < 0")
        let word = value >> 6
        if word >= words.count { words.append(contentsOf: repeatElement(0, count: word - words.count + 1)) }
        let bit = UInt64(1) << UInt64(value & 63)
        if words[word] & bit != 0 { return false }
        words[word] |= bit
        count += 1
        return true
    }

    func intersectionCount(_ other: Bitmap) -> Int {
        zip(words, other.words).reduce(0) { $0 + ($1.0 & $1.1).nonzeroBitCount }
    }

    func subtracting(_ other: Bitmap, limit: Int) -> [Int] {
        var out: [Int] = []
        for (index, word) in words.enumerated() {
            var remaining = word & ~(index < other.words.count ? other.words[index] : 0)
            while remaining != 0 && out.count < limit {
                let bit = remaining.trailingZeroBitCount
                out.append(index << 6 | bit)
                remaining &= remaining - 1
            }
            if out.count >= limit { break }
        }
        return out
    }
}
