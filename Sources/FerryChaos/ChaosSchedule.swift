import Raft

/// The kinds of fault `ferry chaos` injects (`--faults`).
public enum ChaosFaultKind: String, CaseIterable, Sendable, Codable {
    /// kill -9 of a node, restarted after a pause.
    case kill
    /// SIGSTOP past the election timeout, then SIGCONT.
    case pause
    /// The same node killed and restarted several times quickly, during its catch-up.
    case restartLoop = "restart-loop"
    /// A minority cut off from the rest: both ways, one way, or flapping.
    case partition
    /// A node's wall clock stepped forward or back, or running fast or slow.
    case clock
    /// A stopped node's log damaged (its tail cut, or a byte flipped in written data), then restarted.
    case disk

    /// Parses `kill,pause,…`; nil names the first word that is not a kind.
    public static func parseList(_ text: String) -> Result<[ChaosFaultKind], ChaosScheduleError> {
        var kinds: [ChaosFaultKind] = []
        for word in text.split(separator: ",").map({ $0.trimmingCharacters(in: " ") }) where !word.isEmpty {
            if word == "all" {
                kinds = allCases
                continue
            }
            if word == "none" { continue }
            guard let kind = ChaosFaultKind(rawValue: word) else {
                return .failure(
                    ChaosScheduleError(
                        description:
                            "unknown fault '\(word)' (kinds: \(allCases.map(\.rawValue).joined(separator: ",")), all, none)"
                    ))
            }
            if !kinds.contains(kind) { kinds.append(kind) }
        }
        return .success(kinds)
    }
}

public struct ChaosScheduleError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// One fault of a run: what, on which nodes, and when (milliseconds since the run started). Its window
/// ends when everything it did is healed (the node restarted, the link reopened, the clock reset).
public struct ChaosFault: Sendable, Codable, Equatable {
    public enum Variant: String, Sendable, Codable {
        case plain
        /// partition: the nodes cut off both ways; one way (only what they send is dropped); or flapping.
        case isolate, oneWay = "one-way", flapping
        /// clock: a step of `clockOffsetSeconds`, or a rate of `clockRate` (and the offset) for the window.
        case step, skew
        /// disk: the last bytes of the newest log segment cut; a byte flipped in written log data.
        case truncate, flip
    }

    public var kind: ChaosFaultKind
    public var variant: Variant
    /// The node(s) the fault is done to (a partition: the side cut off).
    public var nodes: [Int]
    public var startMs: Int64
    public var endMs: Int64
    /// clock: seconds the wall clock is moved by; skew: its rate (1.0 = real time).
    public var clockOffsetSeconds: Int?
    public var clockRate: Double?
    /// restart-loop: how many times the node is killed; flapping: how many times the link flips.
    public var repeats: Int?

    public init(
        kind: ChaosFaultKind, variant: Variant = .plain, nodes: [Int], startMs: Int64, endMs: Int64,
        clockOffsetSeconds: Int? = nil, clockRate: Double? = nil, repeats: Int? = nil
    ) {
        self.kind = kind
        self.variant = variant
        self.nodes = nodes
        self.startMs = startMs
        self.endMs = endMs
        self.clockOffsetSeconds = clockOffsetSeconds
        self.clockRate = clockRate
        self.repeats = repeats
    }

    /// `kill node 2`, `partition one-way node 1`, `clock +90 s node 3`…
    public var summary: String {
        var words = [kind.rawValue]
        if variant != .plain { words.append(variant.rawValue) }
        if let offset = clockOffsetSeconds { words.append(offset >= 0 ? "+\(offset) s" : "\(offset) s") }
        if let rate = clockRate { words.append("×\(rate)") }
        if let repeats { words.append("×\(repeats)") }
        words.append((nodes.count == 1 ? "node " : "nodes ") + nodes.map(String.init).joined(separator: ","))
        return words.joined(separator: " ")
    }
}

/// The faults of a run, drawn from its seed: one at a time, each followed by a quiet gap in which the
/// cluster heals and catches up (so at most a minority is ever down or damaged, as the model allows).
public struct ChaosSchedule: Sendable, Equatable {
    public enum Limits {
        /// No fault starts in the run's first seconds (queues are created, the workload warms up).
        public static let warmUpMs: Int64 = 5_000
        /// Quiet time after each fault, drawn between these.
        public static let gapMs: ClosedRange<Int64> = 3_000...8_000
        /// A node is down or paused at most this long in one fault.
        public static let downMs: ClosedRange<Int64> = 3_000...9_000
        public static let restartsMax = 3
    }

    public var faults: [ChaosFault]

    public init(faults: [ChaosFault]) { self.faults = faults }

    /// The faults of a run of `durationMs` over nodes 1...`nodes`, of the given kinds, from `seed`. The
    /// last fault ends before the run's end.
    public init(seed: UInt64, durationMs: Int64, nodes: Int, kinds: [ChaosFaultKind]) {
        var random = SplitMix64(seed: seed ^ 0xC4A0_5C4E_D01E_0001)
        var faults: [ChaosFault] = []
        var time = Limits.warmUpMs
        let minority = max(1, (nodes - 1) / 2)
        // Kinds come in rounds, each kind once per round in a shuffled order, so a short run sees them all.
        var round: [ChaosFaultKind] = []
        while !kinds.isEmpty && nodes > 1 {
            if round.isEmpty { round = kinds.shuffled(using: &random) }
            let kind = round.removeFirst()
            let node = Int.random(in: 1...nodes, using: &random)
            var fault = ChaosFault(kind: kind, nodes: [node], startMs: time, endMs: time)
            let down = Int64.random(in: Limits.downMs, using: &random)
            switch kind {
            case .kill, .pause:
                fault.endMs = time + down
            case .restartLoop:
                let repeats = Int.random(in: 2...Limits.restartsMax, using: &random)
                fault.repeats = repeats
                // Each round: down about a second, up one to three (catching up when killed again).
                fault.endMs = time + Int64(repeats) * 3_000
            case .partition:
                let variants: [ChaosFault.Variant] = [.isolate, .oneWay, .flapping]
                fault.variant = variants[Int.random(in: 0..<variants.count, using: &random)]
                var side = [node]
                let size = Int.random(in: 1...minority, using: &random)
                while side.count < size {
                    let other = Int.random(in: 1...nodes, using: &random)
                    if !side.contains(other) { side.append(other) }
                }
                fault.nodes = side.sorted()
                fault.endMs = time + down + 2_000
                if fault.variant == .flapping { fault.repeats = Int.random(in: 3...8, using: &random) }
            case .clock:
                let steps = [-600, -90, -30, -5, 5, 30, 90, 600]
                fault.clockOffsetSeconds = steps[Int.random(in: 0..<steps.count, using: &random)]
                if Bool.random(using: &random) {
                    fault.variant = .skew
                    fault.clockRate = [0.9, 0.99, 1.01, 1.1][Int.random(in: 0..<4, using: &random)]
                } else {
                    fault.variant = .step
                }
                fault.endMs = time + down + 3_000
            case .disk:
                fault.variant = Bool.random(using: &random) ? .truncate : .flip
                fault.endMs = time + down
            }
            guard fault.endMs <= durationMs - 2_000 else { break }
            faults.append(fault)
            time = fault.endMs + Int64.random(in: Limits.gapMs, using: &random)
        }
        self.faults = faults
    }

    /// `kill 3, pause 2, partition 4, …` (kinds in their declared order, those that occurred).
    public var counts: String {
        ChaosFaultKind.allCases.compactMap { kind in
            let count = faults.filter { $0.kind == kind }.count
            return count == 0 ? nil : "\(kind.rawValue) \(count)"
        }.joined(separator: ", ")
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in characters: Character) -> String {
        String(drop { $0 == characters }.reversed().drop { $0 == characters }.reversed())
    }
}
