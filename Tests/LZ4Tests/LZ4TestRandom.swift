import Foundation

/// SplitMix64: a small seeded generator, so a failing run can be replayed from its seed.
struct LZ4TestRandom: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// `count` random bytes.
    mutating func bytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }

    /// The seed for `test`: `FERRY_LZ4_SEED` from the environment to replay a run, else a fresh one. Printed
    /// either way, with the line that replays it.
    static func seed(for test: String) -> UInt64 {
        let seed: UInt64
        if let text = ProcessInfo.processInfo.environment["FERRY_LZ4_SEED"], let replayed = UInt64(text) {
            seed = replayed
        } else {
            seed = UInt64.random(in: 0...UInt64.max)
        }
        print("\(test) seed: \(seed) (replay with FERRY_LZ4_SEED=\(seed))")
        return seed
    }
}
