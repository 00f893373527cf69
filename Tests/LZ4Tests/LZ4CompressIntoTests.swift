import LZ4
import Testing

@Suite("LZ4 compress(into:)")
struct LZ4CompressIntoTests {
    static let guardByteCount = 64
    static let guardByte: UInt8 = 0xA5

    /// Compresses `source` into a `capacity`-byte slice in the middle of a larger buffer whose other bytes are
    /// guard bytes, checks that no guard byte changed, and returns what was written (nil when it did not fit).
    func compress(
        _ source: [UInt8], capacity: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [UInt8]? {
        var buffer = [UInt8](repeating: Self.guardByte, count: capacity + 2 * Self.guardByteCount)
        let written = try source.withUnsafeBytes { source in
            try buffer.withUnsafeMutableBytes { buffer in
                let slice = UnsafeMutableRawBufferPointer(
                    rebasing: buffer[Self.guardByteCount..<(buffer.count - Self.guardByteCount)])
                return try LZ4.compress(source, into: slice)
            }
        }
        let before = buffer[..<Self.guardByteCount]
        let after = buffer[(buffer.count - Self.guardByteCount)...]
        #expect(
            before.allSatisfy { $0 == Self.guardByte } && after.allSatisfy { $0 == Self.guardByte },
            "wrote outside a \(capacity)-byte destination", sourceLocation: sourceLocation)
        guard let written else { return nil }
        #expect(written > 0 && written <= capacity, "wrote \(written) of \(capacity)", sourceLocation: sourceLocation)
        return Array(buffer[Self.guardByteCount..<(Self.guardByteCount + written)])
    }

    @Test func everyCapacityOfSmallBlocks() throws {
        for (original, block) in LZ4Samples.blocks where block.count <= 1_100 {
            for capacity in 0...LZ4.compressBound(original.count) {
                let written = try compress(original, capacity: capacity)
                if capacity < block.count {
                    #expect(written == nil, "\(original.count) bytes fit in \(capacity), block is \(block.count)")
                } else if capacity >= LZ4.compressBound(original.count) {
                    #expect(written == block, "\(original.count) bytes into \(capacity)")
                }
                // In between LZ4's conservative limit checks may still refuse; what it writes must decode.
                if let written {
                    #expect(try LZ4.decompress(written, uncompressedCount: original.count) == original)
                }
            }
        }
    }

    @Test func largeBlockIntoTooSmallDestinations() throws {
        let original = CloudEventsSample.stream(byteCount: 65_536)
        let block = try LZ4.compress(original)
        for capacity in [0, 1, 15, 16, 17, 1_000, block.count / 2, block.count - 16, block.count - 1] {
            #expect(try compress(original, capacity: capacity) == nil, "capacity \(capacity) of \(block.count)")
        }
        #expect(try compress(original, capacity: LZ4.compressBound(original.count)) == block)
        let random = LZ4Samples.incompressible(count: 65_536)
        let randomBlock = try LZ4.compress(random)
        for capacity in [65_535, 65_536, randomBlock.count - 1] {
            #expect(try compress(random, capacity: capacity) == nil, "random bytes into \(capacity)")
        }
    }

    @Test func emptyInput() throws {
        #expect(try compress([], capacity: 0) == nil, "even an empty block needs its token byte")
        #expect(try compress([], capacity: 1) == [0])
        #expect(try compress([], capacity: 16) == [0])
    }

    @Test func destinationWithoutStorage() throws {
        let destination = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        for source in [[], [0x41], LZ4Samples.text] {
            let written = try source.withUnsafeBytes { source in try LZ4.compress(source, into: destination) }
            #expect(written == nil, "\(source.count) bytes")
        }
    }
}
