/// A queue's messages by sequence number: the messages side by side in one array and a dictionary of
/// their positions. A dictionary of whole messages keeps about as many empty buckets as messages, each
/// the size of a message; here an empty bucket costs 12 bytes. A removal moves the last message into the
/// hole, so the array stays dense; the order of `keys` follows the history of inserts and removals (the
/// same on every replica that applied the same commands).
struct MessageStore: Sendable {
    private var positions: [UInt64: UInt32] = [:]
    private var storage: [StoredMessage] = []

    var count: Int { storage.count }
    var isEmpty: Bool { storage.isEmpty }

    /// The sequence numbers held, in storage order.
    var keys: LazyMapSequence<[StoredMessage], UInt64> { storage.lazy.map(\.sequence) }

    /// The messages held, in storage order.
    var values: [StoredMessage] { storage }

    mutating func reserveCapacity(_ capacity: Int) {
        positions.reserveCapacity(capacity)
        storage.reserveCapacity(capacity)
    }

    subscript(sequence: UInt64) -> StoredMessage? {
        get { positions[sequence].map { storage[Int($0)] } }
        set {
            guard let newValue else {
                removeValue(forKey: sequence)
                return
            }
            precondition(newValue.sequence == sequence, "message \(newValue.sequence) stored as \(sequence)")
            if let position = positions[sequence] {
                storage[Int(position)] = newValue
            } else {
                precondition(storage.count < Int(UInt32.max), "a queue holds fewer than 2^32 messages")
                positions[sequence] = UInt32(storage.count)
                storage.append(newValue)
            }
        }
    }

    /// Changes the message `sequence` in place; false when there is none.
    @discardableResult
    mutating func update(_ sequence: UInt64, _ change: (inout StoredMessage) -> Void) -> Bool {
        guard let position = positions[sequence] else { return false }
        change(&storage[Int(position)])
        precondition(storage[Int(position)].sequence == sequence, "a message's sequence changed in place")
        return true
    }

    @discardableResult
    mutating func removeValue(forKey sequence: UInt64) -> StoredMessage? {
        guard let position = positions.removeValue(forKey: sequence).map(Int.init) else { return nil }
        let last = storage.count - 1
        if position != last {
            storage.swapAt(position, last)
            positions[storage[position].sequence] = UInt32(position)
        }
        return storage.removeLast()
    }
}
