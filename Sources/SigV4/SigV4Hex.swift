/// Lowercase hex encoding and constant-time comparison of signatures.
enum SigV4Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends the lowercase hex spelling of `bytes` to `output`.
    static func append(_ bytes: some Sequence<UInt8>, to output: inout [UInt8]) {
        for byte in bytes {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0F)])
        }
    }

    /// The lowercase hex spelling of `bytes`.
    static func encode(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(64)
        append(bytes, to: &output)
        return output
    }

    /// Whether `provided` equals `expected`, ignoring ASCII case in `provided`, in time that depends
    /// only on the lengths (which are public) and never on where the first difference is.
    static func constantTimeEquals(_ expected: [UInt8], _ provided: some Collection<UInt8>) -> Bool {
        guard expected.count == provided.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(expected, provided) {
            difference |= left ^ SigV4ASCII.lowercased(right)
        }
        return difference == 0
    }
}
