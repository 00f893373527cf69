import CLZ4

/// Why an LZ4 call failed.
public enum LZ4Error: Error, Sendable, Equatable {
    /// The input is larger than the LZ4 block format allows (`LZ4.maxInputCount`).
    case inputTooLarge(count: Int)
    /// The compressed bytes are not a valid block, or do not decompress to exactly the expected size.
    case corruptInput
    /// The expected decompressed size is negative or above `LZ4.maxInputCount`.
    case invalidSize(Int)
}

/// Safe calls into liblz4's block API. Every pointer handed to C is bounded by the Swift buffer it comes
/// from; the C library's own bounds checks (`LZ4_decompress_safe`) guard decompression of hostile input.
public enum LZ4 {
    /// The largest input a block can hold (LZ4_MAX_INPUT_SIZE).
    public static let maxInputCount = Int(LZ4_MAX_INPUT_SIZE)

    /// The most bytes compressing `count` bytes can produce.
    public static func compressBound(_ count: Int) -> Int {
        guard count >= 0, count <= maxInputCount else { return 0 }
        return Int(LZ4_compressBound(Int32(count)))
    }

    /// Compresses `source` into a new block.
    public static func compress(_ source: UnsafeRawBufferPointer) throws(LZ4Error) -> [UInt8] {
        guard source.count <= maxInputCount else { throw .inputTooLarge(count: source.count) }
        let bound = compressBound(source.count)
        var output = [UInt8](repeating: 0, count: max(bound, 1))
        let written = output.withUnsafeMutableBytes { destination in
            compressBlock(source, into: destination)
        }
        output.removeSubrange(written...)
        return output
    }

    /// Compresses `source` into a new block.
    public static func compress(_ source: [UInt8]) throws(LZ4Error) -> [UInt8] {
        guard source.count <= maxInputCount else { throw .inputTooLarge(count: source.count) }
        let result = source.withUnsafeBytes { buffer in Result { () throws(LZ4Error) in try compress(buffer) } }
        return try result.get()
    }

    /// Compresses `source` into `destination`, returning the bytes written, or nil when the block does
    /// not fit (make `destination` `compressBound(source.count)` bytes to always fit).
    public static func compress(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer
    ) throws(LZ4Error) -> Int? {
        guard source.count <= maxInputCount else { throw .inputTooLarge(count: source.count) }
        let written = compressBlock(source, into: destination)
        // 0 means the block did not fit: even an empty input needs its one token byte.
        return written > 0 ? written : nil
    }

    /// Decompresses a block that must expand to exactly `uncompressedCount` bytes.
    public static func decompress(
        _ source: UnsafeRawBufferPointer, uncompressedCount: Int
    ) throws(LZ4Error) -> [UInt8] {
        guard uncompressedCount >= 0, uncompressedCount <= maxInputCount else {
            throw .invalidSize(uncompressedCount)
        }
        guard source.count <= Int(Int32.max) else { throw .corruptInput }
        if uncompressedCount == 0 {
            // An empty input compresses to the single token byte 0.
            guard source.count == 1, source[0] == 0 else { throw .corruptInput }
            return []
        }
        guard let base = source.baseAddress else { throw .corruptInput }
        var output = [UInt8](repeating: 0, count: uncompressedCount)
        let produced = output.withUnsafeMutableBytes { destination in
            LZ4_decompress_safe(
                base.assumingMemoryBound(to: CChar.self),
                destination.baseAddress!.assumingMemoryBound(to: CChar.self),
                Int32(source.count), Int32(uncompressedCount))
        }
        guard produced == Int32(uncompressedCount) else { throw .corruptInput }
        return output
    }

    /// Decompresses a block that must expand to exactly `uncompressedCount` bytes.
    public static func decompress(_ source: [UInt8], uncompressedCount: Int) throws(LZ4Error) -> [UInt8] {
        let result = source.withUnsafeBytes { buffer in
            Result { () throws(LZ4Error) in try decompress(buffer, uncompressedCount: uncompressedCount) }
        }
        return try result.get()
    }

    private static func compressBlock(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer
    ) -> Int {
        guard let destinationBase = destination.baseAddress, !destination.isEmpty else { return 0 }
        let capacity = Int32(clamping: destination.count)
        guard let sourceBase = source.baseAddress, !source.isEmpty else {
            // LZ4 encodes an empty block as one zero token.
            destination[0] = 0
            return 1
        }
        return Int(
            LZ4_compress_default(
                sourceBase.assumingMemoryBound(to: CChar.self),
                destinationBase.assumingMemoryBound(to: CChar.self),
                Int32(source.count), capacity))
    }
}
