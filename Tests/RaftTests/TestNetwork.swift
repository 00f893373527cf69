import Raft
import Testing

/// The test application: the list of payloads it applied, encoded as its snapshot.
enum AppliedPayloads {
    static func encode(_ payloads: [[UInt8]]) -> [UInt8] {
        var bytes: [UInt8] = []
        for payload in payloads {
            precondition(payload.count < 256, "test payloads are short")
            bytes.append(UInt8(payload.count))
            bytes.append(contentsOf: payload)
        }
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> [[UInt8]] {
        var payloads: [[UInt8]] = []
        var position = 0
        while position < bytes.count {
            let count = Int(bytes[position])
            payloads.append(Array(bytes[(position + 1)..<(position + 1 + count)]))
            position += 1 + count
        }
        return payloads
    }
}

/// Nodes of one group wired by an in-memory network that a test drives tick by tick.
///
/// The driver follows `Raft`'s contract for every `Ready`: persist into `storage`, queue the messages, apply
/// the snapshot and committed entries into `applied`, then advance. Messages are delivered in the order sent
/// unless a node is down, a link is cut, or `intercept` drops (or changes) them. Applying checks that every node applies
/// indexes in order and that no two nodes apply different entries at one index (State Machine Safety, §5.4.3).
struct TestNetwork {
    /// One direction of a link between two nodes.
    struct Link: Hashable {
        var from: NodeID
        var to: NodeID
    }

    private(set) var nodes: [NodeID: Raft] = [:]
    /// What each node persisted: what it restarts from.
    private(set) var storage: [NodeID: PersistedState] = [:]
    /// Payloads of the non-empty normal entries each node applied, in order (restored from snapshots).
    private(set) var applied: [NodeID: [[UInt8]]] = [:]
    /// The index of the last entry (or snapshot) each node applied.
    private(set) var appliedIndex: [NodeID: UInt64] = [:]
    /// Read states each node's `Ready`s carried.
    private(set) var readStates: [NodeID: [ReadState]] = [:]
    /// Snapshots each node installed from its leader.
    private(set) var installedSnapshots: [NodeID: [Snapshot]] = [:]
    /// Every message nodes sent, delivered or not, oldest first.
    var sent: [Message] = []
    /// Messages sent and not yet delivered.
    var inFlight: [Message] = []
    /// Nodes that are down: they neither tick nor receive, and restart from `storage`.
    private(set) var down: Set<NodeID> = []
    var cutLinks: Set<Link> = []
    /// Sees every message on a link that works: returns it (possibly changed) to deliver it, nil to drop it.
    var intercept: (Message) -> Message? = { $0 }
    /// The entry applied at each index by the first node that applied it.
    private var appliedEntries: [UInt64: Entry] = [:]
    private let membership: Membership
    private let seed: UInt64
    private let configure: (inout RaftConfiguration) -> Void

    /// A group whose initial members are `voters` and `learners`, each node starting from `persisted` (empty
    /// when absent).
    init(
        voters: Set<NodeID>, learners: Set<NodeID> = [], persisted: [NodeID: PersistedState] = [:], seed: UInt64 = 1,
        configure: @escaping (inout RaftConfiguration) -> Void = { _ in }
    ) {
        self.membership = Membership(voters: voters, learners: learners)
        self.seed = seed
        self.configure = configure
        for id in voters.union(learners) { start(id, from: persisted[id] ?? PersistedState()) }
    }

    /// Adds a node that is not a member yet, with an empty log: it joins through a membership change.
    mutating func addNode(_ id: NodeID) {
        start(id, from: PersistedState())
    }

    private mutating func start(_ id: NodeID, from persisted: PersistedState) {
        var configuration = testConfiguration(id: id)
        configure(&configuration)
        nodes[id] = Raft(configuration: configuration, membership: membership, persisted: persisted, seed: seed)
        storage[id] = persisted
        applied[id] = persisted.snapshot.map { AppliedPayloads.decode($0.data) } ?? []
        appliedIndex[id] = persisted.snapshot?.index ?? 0
    }

    /// Stops `id`: what it did not persist is lost, and messages to it are dropped.
    mutating func crash(_ id: NodeID) {
        down.insert(id)
        inFlight.removeAll { $0.to == id || $0.from == id }
    }

    /// A disk that lost synced writes: `id`'s stored log (and the commit index stored with it) ends at
    /// `index`, with nothing to tell the node that it lost anything.
    mutating func loseStoredEntries(of id: NodeID, after index: UInt64) {
        storage[id]!.entries.removeAll { $0.index > index }
        storage[id]!.hardState.commit = min(storage[id]!.hardState.commit, index)
    }

    /// Starts `id` again from what it persisted.
    mutating func restart(_ id: NodeID) {
        down.remove(id)
        start(id, from: storage[id]!)
    }

    /// Cuts every link to and from `id`.
    mutating func isolate(_ id: NodeID) {
        for other in nodes.keys where other != id {
            cutLinks.insert(Link(from: id, to: other))
            cutLinks.insert(Link(from: other, to: id))
        }
    }

    /// Drops the messages that match `predicate` from now on.
    mutating func drop(where predicate: @escaping (Message) -> Bool) {
        intercept = { predicate($0) ? nil : $0 }
    }

    /// Restores every link and stops dropping or changing messages.
    mutating func heal() {
        cutLinks = []
        intercept = { $0 }
    }

    // MARK: Driving

    /// Handles one `Ready` of `id` by the driver contract; returns it.
    @discardableResult
    mutating func handleReady(of id: NodeID) -> Ready {
        let ready = nodes[id]!.ready()
        persist(ready, of: id)
        sent.append(contentsOf: ready.messages)
        inFlight.append(contentsOf: ready.messages)
        apply(ready, on: id)
        nodes[id]!.advance(ready)
        return ready
    }

    /// What arrives when `message` is sent: nil when it is dropped.
    func arriving(_ message: Message) -> Message? {
        guard nodes[message.to] != nil, !down.contains(message.to), !down.contains(message.from),
            !cutLinks.contains(Link(from: message.from, to: message.to))
        else { return nil }
        return intercept(message)
    }

    /// Delivers one message, unless it is to be dropped.
    mutating func deliver(_ message: Message) {
        guard let message = arriving(message) else { return }
        nodes[message.to]!.step(message)
    }

    /// One round: every node that is up handles its `Ready`, then every message sent so far is delivered.
    /// Returns false when there was nothing to do.
    @discardableResult
    mutating func pumpRound() -> Bool {
        var busy = false
        for id in nodes.keys.sorted() where !down.contains(id) && nodes[id]!.hasReady {
            handleReady(of: id)
            busy = true
        }
        let batch = inFlight
        inFlight = []
        for message in batch {
            deliver(message)
            busy = true
        }
        return busy
    }

    /// Runs rounds until the network is quiet, or until `condition` holds after a round.
    mutating func pump(until condition: (TestNetwork) -> Bool = { _ in false }, roundsMax: Int = 10_000) {
        for _ in 0..<roundsMax {
            guard pumpRound(), !condition(self) else { return }
        }
        Issue.record("the network did not settle in \(roundsMax) rounds")
    }

    /// Ticks `ids` (every node that is up by default) `times` times, settling the network after each tick.
    mutating func tick(_ ids: [NodeID]? = nil, times: Int = 1) {
        for _ in 0..<times {
            for id in (ids ?? nodes.keys.sorted()) where !down.contains(id) { nodes[id]!.tick() }
            pump()
        }
    }

    /// Ticks only `id` until it leads, so its election is the only one; the network settles after each tick.
    mutating func elect(_ id: NodeID, ticksMax: Int = 200) {
        for _ in 0..<ticksMax {
            if nodes[id]!.role == .leader { return }
            tick([id])
        }
        Issue.record("node \(id) did not become leader in \(ticksMax) ticks")
    }

    /// Ticks only `id` until it campaigns (sends vote or pre-vote requests), settling the network after each tick.
    mutating func campaign(_ id: NodeID, ticksMax: Int = 200) {
        for _ in 0..<ticksMax {
            let sentBefore = sent.count
            tick([id])
            if sent[sentBefore...].contains(where: { $0.from == id && ($0.kind == .vote || $0.kind == .preVote) }) {
                return
            }
        }
        Issue.record("node \(id) did not campaign in \(ticksMax) ticks")
    }

    /// Ticks every node until one leads; returns it.
    @discardableResult
    mutating func tickUntilLeader(ticksMax: Int = 500) -> NodeID? {
        for _ in 0..<ticksMax {
            if let leader { return leader }
            tick()
        }
        return leader
    }

    /// The node that leads with the highest term among those up, if any.
    var leader: NodeID? {
        nodes.filter { !down.contains($0.key) && $0.value.role == .leader }.max { $0.value.term < $1.value.term }?.key
    }

    /// Proposes `text` on `id` (the leader by default).
    mutating func propose(_ text: String, on id: NodeID? = nil) throws(RaftError) {
        guard let target = id ?? leader else { throw .notLeader(leader: 0) }
        try nodes[target]!.propose(Array(text.utf8))
    }

    /// Runs `body` on node `id` in place.
    mutating func on<Value, Failure: Error>(_ id: NodeID, _ body: (inout Raft) throws(Failure) -> Value) throws(Failure)
        -> Value
    {
        try body(&nodes[id]!)
    }

    /// The entries `id` holds, from its first index on.
    func log(of id: NodeID) -> [Entry] {
        nodes[id]!.entries(from: 0)
    }

    /// The payloads `id` applied, as text.
    func appliedText(of id: NodeID) -> [String] {
        applied[id]!.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Snapshots `id`'s application at its applied index and compacts its log there.
    mutating func compact(_ id: NodeID) {
        let index = appliedIndex[id]!
        let snapshot = Snapshot(
            index: index, term: nodes[id]!.term(at: index)!, membership: nodes[id]!.membership,
            data: AppliedPayloads.encode(applied[id]!))
        nodes[id]!.compact(snapshot)
        storage[id]!.snapshot = snapshot
        storage[id]!.entries.removeAll { $0.index <= index }
    }

    // MARK: The driver's steps

    private mutating func persist(_ ready: Ready, of id: NodeID) {
        var state = storage[id]!
        if let snapshot = ready.snapshot {
            state.snapshot = snapshot
            state.entries = []
        }
        if let first = ready.entries.first {
            state.entries.removeAll { $0.index >= first.index }
            state.entries.append(contentsOf: ready.entries)
        }
        if let hardState = ready.hardState { state.hardState = hardState }
        var expected = (state.snapshot?.index ?? 0) + 1
        for entry in state.entries {
            if entry.index != expected { Issue.record("node \(id) stored entry \(entry.index), expected \(expected)") }
            expected = entry.index + 1
        }
        storage[id] = state
    }

    private mutating func apply(_ ready: Ready, on id: NodeID) {
        if let snapshot = ready.snapshot {
            applied[id] = AppliedPayloads.decode(snapshot.data)
            appliedIndex[id] = snapshot.index
            installedSnapshots[id, default: []].append(snapshot)
        }
        for entry in ready.committedEntries {
            if entry.index != appliedIndex[id]! + 1 {
                Issue.record("node \(id) applies \(entry.index) after \(appliedIndex[id]!)")
            }
            if let earlier = appliedEntries[entry.index], earlier != entry {
                Issue.record("node \(id) applies \(entry) at \(entry.index), another node applied \(earlier)")
            }
            appliedEntries[entry.index] = entry
            appliedIndex[id] = entry.index
            if entry.kind == .normal && !entry.data.isEmpty { applied[id]!.append(entry.data) }
        }
        readStates[id, default: []].append(contentsOf: ready.readStates)
    }
}
