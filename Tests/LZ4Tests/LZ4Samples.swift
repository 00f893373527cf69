import LZ4

/// Inputs of each kind LZ4 meets: empty, tiny, text that repeats, events, and bytes that do not compress.
enum LZ4Samples {
    static let text = Array(String(repeating: "Ferry moves messages; ", count: 20).utf8)

    /// Random bytes from a fixed seed, the same on every run.
    static func incompressible(count: Int, seed: UInt64 = 0x1234_5678) -> [UInt8] {
        var generator = LZ4TestRandom(state: seed)
        return generator.bytes(count: count)
    }

    /// A few small valid blocks (with their sizes) for the truncation and corruption tests.
    static let blocks: [(original: [UInt8], block: [UInt8])] = {
        let originals: [[UInt8]] = [
            [0x41], Array("hello".utf8), text, CloudEventsSample.event(byteCount: 256),
            CloudEventsSample.stream(byteCount: 4_096), incompressible(count: 1_000),
            Array(repeating: 0, count: 5_000),
        ]
        return originals.map { original in (original, try! LZ4.compress(original)) }
    }()
}
