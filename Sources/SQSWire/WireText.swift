/// Byte-level helpers shared by the encoders.
enum WireText {
    /// Appends the decimal digits of `value`, with a leading `-` when negative.
    static func appendDecimal(_ value: Int64, to output: inout [UInt8]) {
        if value < 0 { output.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        if magnitude < 10 {
            output.append(UInt8(ascii: "0") + UInt8(magnitude))
            return
        }
        // UInt64.max has 20 digits.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var position = digits.count
            while magnitude > 0 {
                position -= 1
                digits[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: digits[position...]))
        }
    }

    /// Appends the shortest text that reads back as the same `Double` (Swift's `description`).
    /// Only finite values are given here.
    static func appendDouble(_ value: Double, to output: inout [UInt8]) {
        output.append(contentsOf: value.description.utf8)
    }

    /// Calls `body` with the UTF-8 of `string`, in place when the string is stored contiguously.
    static func withUTF8<Result>(_ string: String, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let result = string.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(string.utf8).withUnsafeBufferPointer(body)
    }

    /// 0x01 in every byte of a word.
    static let lowBytes: UInt64 = 0x0101_0101_0101_0101
    /// 0x80 in every byte of a word.
    static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// High bit set in some byte of the result exactly when some byte of `word` equals `byte`
    /// (the classic "has zero byte" test on `word ^ byte…`; exact as a whole-word yes/no).
    @inline(__always)
    static func bytesEqual(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        let difference = word ^ (lowBytes &* UInt64(byte))
        return (difference &- lowBytes) & ~difference & highBits
    }

    /// High bit set in some byte of the result exactly when some byte of `word` is below `limit` (≤ 0x80).
    @inline(__always)
    static func bytesBelow(_ word: UInt64, _ limit: UInt8) -> UInt64 {
        (word &- lowBytes &* UInt64(limit)) & ~word & highBits
    }

    /// The 8 bytes at `offset` (which must leave at least 8 bytes), in memory order as a little-endian word.
    @inline(__always)
    static func word(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt64 {
        guard let base = bytes.baseAddress else { return 0 }
        return UnsafeRawPointer(base + offset).loadUnaligned(as: UInt64.self)
    }
}
