import Foundation

/// SplitMix64: a small seeded generator, so a failing fuzz run can be replayed from its seed.
struct WireFuzzGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// The seed: `WIRE_FUZZ_SEED` from the environment to replay a run, else a fresh one.
    static func seed() -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["WIRE_FUZZ_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: 0...UInt64.max)
    }
}
