import Testing

@testable import QueueEngine

/// A replica that answers no client applies commands without building receive results: its state must
/// stay exactly that of a replica that builds them.
@Suite("Applying without rendering results")
struct RenderingTests {
    @Test func skippingReceiveResultsLeavesTheSameState() {
        let seeds = CodecSeeds.seeds(defaultCount: 20, salt: 23)
        var receivesWithMessages = 0
        for seed in seeds {
            var workload = WorkloadGenerator(seed: seed, configuration: codecTestConfiguration)
            var rendering = QueueEngine(configuration: codecTestConfiguration)
            var silent = QueueEngine(configuration: codecTestConfiguration)
            for step in 0..<300 {
                let (command, timestamp) = workload.next()
                let shown = rendering.apply(command, timestampMilliseconds: timestamp)
                let hidden = silent.apply(command, timestampMilliseconds: timestamp, rendersResults: false)
                workload.observe(command, shown)
                if case .received(let messages) = shown {
                    if !messages.isEmpty { receivesWithMessages += 1 }
                    #expect(hidden == .received([]), "seed \(seed) step \(step): FERRY_CODEC_SEED=\(seed)")
                } else {
                    #expect(hidden == shown, "seed \(seed) step \(step): FERRY_CODEC_SEED=\(seed)")
                }
                guard rendering.snapshot() == silent.snapshot() else {
                    Issue.record("states differ at seed \(seed) step \(step): replay with FERRY_CODEC_SEED=\(seed)")
                    return
                }
            }
        }
        #expect(receivesWithMessages > seeds.count, "the workload received messages")
    }

    @Test func printableASCIIFastPathAgreesWithTheScalarWalk() {
        var random = SeededGenerator(seed: 0x5EED)
        let alphabet: [Character] = [
            "a", "Z", " ", "~", "\u{7F}", "\t", "\n", "\r", "\u{1}", "\u{1F}", "é", "日", "🚢", "\u{FFFE}",
        ]
        for _ in 0..<2_000 {
            let length = random.int(0...40)
            let text = String((0..<length).map { _ in alphabet[random.int(0...(alphabet.count - 1))] })
            #expect(
                MessageValidation.hasOnlyAllowedCharacters(text) == MessageValidation.allowsEveryScalar(text),
                "\(Array(text.unicodeScalars.map(\.value)))")
        }
    }
}
