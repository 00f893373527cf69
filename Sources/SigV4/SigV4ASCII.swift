/// Byte-level helpers for the ASCII text SigV4 works on.
enum SigV4ASCII {
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let comma = UInt8(ascii: ",")
    static let newline = UInt8(ascii: "\n")

    /// Whitespace as Python's `str.split()` sees it within ASCII, which is what botocore collapses
    /// in header values: space, tab, LF, VT, FF, CR and the separators 0x1C–0x1F.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || (0x09...0x0D).contains(byte) || (0x1C...0x1F).contains(byte)
    }

    static func lowercased(_ byte: UInt8) -> UInt8 {
        (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
    }

    /// Whether `text` equals `lowercase` when ASCII letters in `text` are lowercased.
    static func equalsLowercased(_ text: String, _ lowercase: String) -> Bool {
        text.utf8.count == lowercase.utf8.count
            && text.utf8.elementsEqual(lowercase.utf8, by: { lowercased($0) == $1 })
    }

    /// `bytes` without leading and trailing whitespace.
    static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard let first = bytes.firstIndex(where: { !isWhitespace($0) }),
            let last = bytes.lastIndex(where: { !isWhitespace($0) })
        else { return bytes[bytes.startIndex..<bytes.startIndex] }
        return bytes[first...last]
    }

    /// The value of an ASCII decimal digit, or nil.
    static func digit(_ byte: UInt8) -> Int? {
        (0x30...0x39).contains(byte) ? Int(byte - 0x30) : nil
    }

    /// The unsigned decimal number spelled by `bytes` (1 to 18 digits, nothing else), or nil.
    static func decimal(_ bytes: some Collection<UInt8>) -> Int64? {
        guard (1...18).contains(bytes.count) else { return nil }
        var value: Int64 = 0
        for byte in bytes {
            guard let digit = digit(byte) else { return nil }
            value = value * 10 + Int64(digit)
        }
        return value
    }
}
