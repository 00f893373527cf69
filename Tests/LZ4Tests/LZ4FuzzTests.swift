import LZ4
import Testing

/// Hostile blocks: decompressing must either throw `corruptInput` or return exactly the bytes asked for.
@Suite("LZ4 fuzzing")
struct LZ4FuzzTests {
    static let inputCount = 20_000

    /// Decompresses `block` and checks the outcome; true when it decoded.
    @discardableResult
    func decompressOrRefuse(
        _ block: [UInt8], uncompressedCount: Int, _ comment: Comment,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Bool {
        do throws(LZ4Error) {
            let output = try LZ4.decompress(block, uncompressedCount: uncompressedCount)
            #expect(output.count == uncompressedCount, comment, sourceLocation: sourceLocation)
            return true
        } catch {
            #expect(error == .corruptInput, comment, sourceLocation: sourceLocation)
            return false
        }
    }

    @Test func randomGarbage() {
        let seed = LZ4TestRandom.seed(for: "LZ4 random garbage")
        var generator = LZ4TestRandom(state: seed)
        var decoded = 0
        for iteration in 0..<Self.inputCount {
            let block = generator.bytes(count: Int.random(in: 0...300, using: &generator))
            // Mostly sizes a small block could plausibly expand to, sometimes any size.
            let uncompressedCount =
                Bool.random(using: &generator)
                ? Int.random(in: 0...(block.count * 4 + 16), using: &generator)
                : Int.random(in: 0...(1 << 16), using: &generator)
            let comment: Comment = "seed \(seed), iteration \(iteration)"
            if decompressOrRefuse(block, uncompressedCount: uncompressedCount, comment) { decoded += 1 }
        }
        print("LZ4 random garbage: \(decoded) of \(Self.inputCount) blocks decoded")
    }

    @Test func bitFlipsOfValidBlocks() throws {
        let seed = LZ4TestRandom.seed(for: "LZ4 bit flips")
        var generator = LZ4TestRandom(state: seed)
        var blocks = LZ4Samples.blocks
        let events = CloudEventsSample.stream(byteCount: 65_536)
        blocks.append((events, try LZ4.compress(events)))
        var decoded = 0
        for iteration in 0..<Self.inputCount {
            let (original, valid) = blocks[Int.random(in: 0..<blocks.count, using: &generator)]
            var block = valid
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<block.count, using: &generator)
                block[index] ^= 1 << UInt8.random(in: 0...7, using: &generator)
            }
            let comment: Comment = "seed \(seed), iteration \(iteration)"
            if decompressOrRefuse(block, uncompressedCount: original.count, comment) { decoded += 1 }
        }
        print("LZ4 bit flips: \(decoded) of \(Self.inputCount) flipped blocks still decoded")
    }

    @Test func overwrittenAndCutBlocks() throws {
        let seed = LZ4TestRandom.seed(for: "LZ4 overwritten blocks")
        var generator = LZ4TestRandom(state: seed)
        let blocks = LZ4Samples.blocks
        for iteration in 0..<Self.inputCount {
            let (original, valid) = blocks[Int.random(in: 0..<blocks.count, using: &generator)]
            var block = valid
            // Overwrite a run of bytes with random ones, then maybe cut or extend the block.
            let start = Int.random(in: 0..<block.count, using: &generator)
            let end = min(block.count, start + Int.random(in: 1...8, using: &generator))
            for index in start..<end { block[index] = UInt8.random(in: 0...255, using: &generator) }
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: block.removeLast(Int.random(in: 0...block.count, using: &generator))
            case 1: block += generator.bytes(count: Int.random(in: 1...16, using: &generator))
            default: break
            }
            decompressOrRefuse(block, uncompressedCount: original.count, "seed \(seed), iteration \(iteration)")
        }
    }
}
