import Cluster
import PeerTransport
import Raft

/// The simulated network: every frame a node sends is a delivery at a future time, unless the seed's
/// faults drop it (loss, a partition) or deliver it twice; random delays reorder frames.
struct SimulatedNetwork {
    struct Delivery {
        var at: Int64
        var order: UInt64
        var from: NodeID
        var to: NodeID
        var frames: [PeerFrame]
    }

    /// Frames in flight at once; past this a send is dropped (as a full peer queue drops it).
    static let deliveriesMax = 100_000

    var deliveries: [Delivery] = []
    /// Frames sent since the world last looked (a livelock shows as a flood), and how many of each kind
    /// (by `frameKindSlot`).
    var framesSent = 0
    var framesSentByKind = [Int](repeating: 0, count: 64)

    /// A frame's kind, and a Raft frame's message kind, as one small number.
    static func frameKindSlot(_ frame: PeerFrame) -> Int {
        guard frame.kind == .raft else { return Int(frame.kind.rawValue) }
        return 32 + Int(RaftWireCodec.messageKind(frame.payload)?.rawValue ?? 31) % 32
    }

    /// The kinds of frames sent since the world last looked, busiest first.
    var framesSentSummary: String {
        framesSentByKind.enumerated().filter { $0.element > 0 }.sorted { $0.element > $1.element }.map { slot, count in
            let name =
                slot >= 32
                ? "raft \(MessageKind(rawValue: UInt8(slot - 32)).map { "\($0)" } ?? "?")"
                : "\(PeerFrameKind(rawValue: UInt8(slot)).map { "\($0)" } ?? "?")"
            return "\(name) \(count)"
        }.joined(separator: ", ")
    }
    /// Sends lost, duplicated, and overtaken by a later send on the same link.
    var lost = 0
    var duplicated = 0
    var reordered = 0
    private var lastDueAt: [Link: Int64] = [:]
    private var lastCallDueAt: [Link: Int64] = [:]
    private var nextOrder: UInt64 = 0
    /// Directed links that drop everything: (from, to).
    var cut: Set<Link> = []
    var lossRate = 0.0
    var duplicationRate = 0.0
    var delayMilliseconds: ClosedRange<Int> = 1...5

    struct Link: Hashable { var from: NodeID; var to: NodeID }

    /// Sends frames; false when the link is cut (the shell reports the peer unreachable). Calls between
    /// nodes and their replies (`isCall`) are never duplicated and keep their order on a link, as on a
    /// connection; they can be lost (a connection that broke).
    mutating func send(
        _ frames: [PeerFrame], from: NodeID, to: NodeID, now: Int64, random: inout SimulationRandom,
        isCall: Bool = false
    ) -> Bool {
        guard !cut.contains(Link(from: from, to: to)) else { return false }
        framesSent += frames.count
        for frame in frames { framesSentByKind[Self.frameKindSlot(frame)] += 1 }
        guard deliveries.count < Self.deliveriesMax, !random.chance(lossRate) else {
            lost += 1
            return true
        }
        let copies = !isCall && random.chance(duplicationRate) ? 2 : 1
        if copies == 2 { duplicated += 1 }
        let link = Link(from: from, to: to)
        for _ in 0..<copies {
            var at = now + Int64(random.int(delayMilliseconds))
            if isCall {
                at = max(at, lastCallDueAt[link] ?? at)
                lastCallDueAt[link] = at
            }
            if let last = lastDueAt[link], at < last { reordered += 1 }
            lastDueAt[link] = max(at, lastDueAt[link] ?? at)
            deliveries.append(Delivery(at: at, order: nextOrder, from: from, to: to, frames: frames))
            nextOrder += 1
        }
        return true
    }

    /// Takes the deliveries due by `now`, in time order (then send order).
    mutating func due(by now: Int64) -> [Delivery] {
        guard deliveries.contains(where: { $0.at <= now }) else { return [] }
        let ready = deliveries.filter { $0.at <= now }.sorted { ($0.at, $0.order) < ($1.at, $1.order) }
        deliveries.removeAll { $0.at <= now }
        return ready
    }

    /// Cuts `node` off from `others` (both ways, or only its outgoing links).
    mutating func isolate(_ node: NodeID, from others: [NodeID], oneWay: Bool) {
        for other in others where other != node {
            cut.insert(Link(from: node, to: other))
            if !oneWay { cut.insert(Link(from: other, to: node)) }
        }
    }

    mutating func heal() { cut = [] }
}
