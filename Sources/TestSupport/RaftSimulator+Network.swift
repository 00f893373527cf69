import Raft

/// A directed link between two nodes.
struct SimulatedLink: Hashable, Sendable {
    var from: NodeID
    var to: NodeID
}

/// The simulated network: messages in flight with the step at which they arrive, directed links that drop
/// everything (partitions, possibly asymmetric), and seeded loss, duplication, delay and reordering.
struct SimulatedNetwork: Sendable {
    struct InFlight: Sendable {
        var message: Message
        var deliverAt: Int
    }

    var inFlight: [InFlight] = []
    /// Links that drop every message, checked when a message arrives.
    var blocked: Set<SimulatedLink> = []
    /// Probability that a message is lost on the way (decided when it arrives, so a lost snapshot can be
    /// reported to its sender as a failed send).
    var lossRate = 0.0
    /// Probability that a message arrives twice.
    var duplicationRate = 0.0
    /// A message arrives 0…`delayStepsMax` steps after it is sent (0: in a later round of the same step).
    var delayStepsMax = 0
    /// Deliver the messages due in one round in a random order rather than in sending order.
    var reorders = false

    /// True when a message from `from` to `to` is dropped.
    func isBlocked(from: NodeID, to: NodeID) -> Bool {
        !blocked.isEmpty && blocked.contains(SimulatedLink(from: from, to: to))
    }

    /// Sends `message` at step `now`; returns the number of copies put in flight.
    mutating func send(_ message: Message, now: Int, random: inout SplitMix64) -> Int {
        let copies = duplicationRate > 0 && random.chance(duplicationRate) ? 2 : 1
        for _ in 0..<copies {
            let delay = delayStepsMax > 0 ? random.below(delayStepsMax + 1) : 0
            inFlight.append(InFlight(message: message, deliverAt: now + delay))
        }
        return copies
    }

    /// Removes and returns the messages due by step `now`, in delivery order.
    mutating func takeDue(now: Int, random: inout SplitMix64) -> [Message] {
        guard !inFlight.isEmpty else { return [] }
        var due: [Message] = []
        var later: [InFlight] = []
        for item in inFlight {
            if item.deliverAt <= now { due.append(item.message) } else { later.append(item) }
        }
        inFlight = later
        if reorders { random.shuffle(&due) }
        return due
    }

    /// Cuts `group` off from everyone else, both ways.
    mutating func isolate(_ group: Set<NodeID>, among nodes: [NodeID]) {
        for inside in group.sorted() {
            for outside in nodes where !group.contains(outside) {
                blocked.insert(SimulatedLink(from: inside, to: outside))
                blocked.insert(SimulatedLink(from: outside, to: inside))
            }
        }
    }

    /// Ends every partition and every network fault.
    mutating func healCompletely() {
        blocked = []
        lossRate = 0
        duplicationRate = 0
        delayStepsMax = 0
        reorders = false
    }
}

extension SplitMix64 {
    /// A number in `0..<bound` (bound > 0).
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    /// True with probability `probability`.
    mutating func chance(_ probability: Double) -> Bool {
        Double(next() >> 11) / Double(UInt64(1) << 53) < probability
    }

    /// One element of a non-empty array.
    mutating func pick<Element>(_ elements: [Element]) -> Element {
        elements[below(elements.count)]
    }

    /// Fisher–Yates, with this generator.
    mutating func shuffle<Element>(_ elements: inout [Element]) {
        guard elements.count > 1 else { return }
        for position in stride(from: elements.count - 1, to: 0, by: -1) {
            elements.swapAt(position, below(position + 1))
        }
    }
}
