import LZ4
import Testing

@Suite("LZ4 decompress errors")
struct LZ4DecompressErrorTests {
    @Test func wrongUncompressedCount() throws {
        for (original, block) in LZ4Samples.blocks {
            let count = original.count
            for wrong in Set([0, 1, count / 2, count - 1, count + 1, count + 16, count * 2, 1 << 20])
            where wrong != count {
                #expect(throws: LZ4Error.corruptInput, "\(count) bytes read as \(wrong)") {
                    try LZ4.decompress(block, uncompressedCount: wrong)
                }
            }
        }
    }

    @Test func everyTruncationThrows() throws {
        var blocks = LZ4Samples.blocks
        let events = CloudEventsSample.stream(byteCount: 65_536)
        blocks.append((events, try LZ4.compress(events)))
        for (original, block) in blocks {
            for cut in 0..<block.count {
                #expect(throws: LZ4Error.corruptInput, "\(original.count) bytes cut to \(cut) of \(block.count)") {
                    try LZ4.decompress(Array(block[..<cut]), uncompressedCount: original.count)
                }
            }
        }
    }

    @Test func trailingBytesThrow() throws {
        for (original, block) in LZ4Samples.blocks {
            #expect(throws: LZ4Error.corruptInput, "\(original.count) bytes") {
                try LZ4.decompress(block + [0], uncompressedCount: original.count)
            }
        }
    }

    @Test(arguments: [-1, -65_536, Int.min, LZ4.maxInputCount + 1, Int(Int32.max), Int.max])
    func invalidSize(count: Int) throws {
        #expect(throws: LZ4Error.invalidSize(count)) { try LZ4.decompress([0x10, 0x41], uncompressedCount: count) }
        #expect(throws: LZ4Error.invalidSize(count)) { try LZ4.decompress([], uncompressedCount: count) }
    }

    @Test(arguments: [1, 2, 100, 65_536])
    func emptySourceWithNonzeroSize(count: Int) {
        #expect(throws: LZ4Error.corruptInput) { try LZ4.decompress([], uncompressedCount: count) }
        #expect(throws: LZ4Error.corruptInput) {
            try LZ4.decompress(UnsafeRawBufferPointer(start: nil, count: 0), uncompressedCount: count)
        }
        // An empty view of real storage: a base address, but no bytes.
        let storage: [UInt8] = [0x10, 0x41]
        storage.withUnsafeBytes { bytes -> Void in
            #expect(throws: LZ4Error.corruptInput) {
                try LZ4.decompress(UnsafeRawBufferPointer(rebasing: bytes[0..<0]), uncompressedCount: count)
            }
        }
    }

    @Test func zeroSizeAcceptsOnlyTheEmptyBlock() throws {
        #expect(try LZ4.decompress([0], uncompressedCount: 0) == [])
        for block: [UInt8] in [[], [1], [0x10], [0, 0], [0x10, 0x41], [0xF0, 0]] {
            #expect(throws: LZ4Error.corruptInput, "\(block)") { try LZ4.decompress(block, uncompressedCount: 0) }
        }
    }

    @Test func matchBeforeTheStartThrows() throws {
        // Five literals, a match of 8 bytes at `offset` back, then six last literals.
        func block(offset: UInt16) -> [UInt8] {
            [0x54] + Array("ABCDE".utf8) + [UInt8(offset & 0xFF), UInt8(offset >> 8), 0x60] + Array("FGHIJK".utf8)
        }
        #expect(try LZ4.decompress(block(offset: 5), uncompressedCount: 19) == Array("ABCDEABCDEABCFGHIJK".utf8))
        for offset: UInt16 in [6, 7, 0xFFFF] {
            #expect(throws: LZ4Error.corruptInput, "offset \(offset)") {
                try LZ4.decompress(block(offset: offset), uncompressedCount: 19)
            }
        }
    }
}
