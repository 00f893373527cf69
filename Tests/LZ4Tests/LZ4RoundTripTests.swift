import LZ4
import Testing

@Suite("LZ4 round trips")
struct LZ4RoundTripTests {
    /// Compresses `original`, checks the block against `compressBound`, decompresses it and returns the block.
    @discardableResult
    func roundTrip(_ original: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> [UInt8] {
        let block = try LZ4.compress(original)
        #expect(!block.isEmpty, sourceLocation: sourceLocation)
        #expect(block.count <= LZ4.compressBound(original.count), sourceLocation: sourceLocation)
        let restored = try LZ4.decompress(block, uncompressedCount: original.count)
        #expect(restored == original, "\(original.count) bytes", sourceLocation: sourceLocation)
        return block
    }

    @Test func emptyInputIsOneZeroToken() throws {
        #expect(try roundTrip([]) == [0])
        #expect(try LZ4.decompress([0], uncompressedCount: 0) == [])
    }

    @Test func oneByte() throws {
        // A token of one literal, then the literal.
        #expect(try roundTrip([0x41]) == [0x10, 0x41])
        try roundTrip([0])
        try roundTrip([0xFF])
    }

    @Test(arguments: [2, 3, 12, 13, 15, 16, 17, 64, 255, 256, 270, 1_000, 4_096])
    func smallInputs(count: Int) throws {
        try roundTrip(Array(LZ4Samples.text.prefix(count)) + Array(repeating: 0x2E, count: max(0, count - 440)))
        try roundTrip(LZ4Samples.incompressible(count: count))
        try roundTrip(Array(repeating: 7, count: count))
    }

    @Test func repetitiveTextShrinks() throws {
        let block = try roundTrip(LZ4Samples.text)
        #expect(block.count < LZ4Samples.text.count / 4, "\(LZ4Samples.text.count) -> \(block.count) bytes")
    }

    /// Prints the ratios of the data the LZ4 benchmarks compress (Benchmarks/, same generator).
    @Test func cloudEventsJSON() throws {
        for original in [CloudEventsSample.event(byteCount: 256), CloudEventsSample.stream(byteCount: 65_536)] {
            let block = try roundTrip(original)
            let ratio = Double(original.count) / Double(block.count)
            print("LZ4 CloudEvents JSON: \(original.count) -> \(block.count) bytes, ratio \(ratio)")
            #expect(ratio > 1, "\(original.count) -> \(block.count) bytes")
        }
        #expect(CloudEventsSample.event(byteCount: 256).count == 256)
        #expect(CloudEventsSample.stream(byteCount: 65_536).count == 65_536)
        #expect(CloudEventsSample.event(7) == CloudEventsSample.event(7), "the generator is deterministic")
    }

    @Test func incompressibleBytesGrowWithinTheBound() throws {
        let original = LZ4Samples.incompressible(count: 65_536)
        let block = try roundTrip(original)
        #expect(block.count > original.count, "random bytes cannot shrink: \(block.count)")
    }

    @Test func fourMegabytes() throws {
        try roundTrip(CloudEventsSample.stream(byteCount: 4 << 20))
        try roundTrip(LZ4Samples.incompressible(count: 4 << 20))
        try roundTrip(Array(repeating: 0, count: 4 << 20))
    }

    @Test func pointerAndArrayCallsAgree() throws {
        let original = CloudEventsSample.stream(byteCount: 10_000)
        let fromArray = try LZ4.compress(original)
        let fromPointer = try original.withUnsafeBytes { buffer throws(LZ4Error) in try LZ4.compress(buffer) }
        #expect(fromPointer == fromArray)
        let restored = try fromArray.withUnsafeBytes { buffer throws(LZ4Error) in
            try LZ4.decompress(buffer, uncompressedCount: original.count)
        }
        #expect(restored == original)
    }

    @Test func compressBound() {
        #expect(LZ4.compressBound(0) == 16)
        #expect(LZ4.compressBound(65_536) >= 65_536 + 65_536 / 255)
        #expect(LZ4.compressBound(LZ4.maxInputCount) > LZ4.maxInputCount)
        #expect(LZ4.compressBound(-1) == 0)
        #expect(LZ4.compressBound(LZ4.maxInputCount + 1) == 0)
    }

    @Test func inputAboveTheLimitIsRefusedUnread() throws {
        // The size check comes before any read, so a buffer that only claims to be too large is enough.
        let storage = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 8)
        defer { storage.deallocate() }
        let tooLarge = UnsafeRawBufferPointer(start: storage, count: LZ4.maxInputCount + 1)
        #expect(throws: LZ4Error.inputTooLarge(count: LZ4.maxInputCount + 1)) { try LZ4.compress(tooLarge) }
        let destination = UnsafeMutableRawBufferPointer(start: storage, count: 16)
        #expect(throws: LZ4Error.inputTooLarge(count: LZ4.maxInputCount + 1)) {
            try LZ4.compress(tooLarge, into: destination)
        }
    }
}
