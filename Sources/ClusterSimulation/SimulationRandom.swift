import Raft

/// The simulator's seeded generator streams: settings, workload and faults are drawn apart, so changing
/// the workload does not reshuffle the faults.
struct SimulationRandom {
    var generator: SplitMix64

    init(seed: UInt64, stream: UInt64) {
        generator = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ stream &* 0xBF58_476D_1CE4_E5B9)
    }

    mutating func next() -> UInt64 { generator.next() }

    /// A number in `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// True with probability `probability`.
    mutating func chance(_ probability: Double) -> Bool {
        probability > 0 && Double(next() % 1_000_000) < probability * 1_000_000
    }

    mutating func pick<Element>(_ elements: [Element]) -> Element {
        elements[Int(next() % UInt64(elements.count))]
    }

    /// A rate for one fault kind of a seed (swarm testing): off, rare or frequent.
    mutating func swarmRate(rare: Double, frequent: Double) -> Double {
        switch next() % 3 {
        case 0: 0
        case 1: rare
        default: frequent
        }
    }
}
