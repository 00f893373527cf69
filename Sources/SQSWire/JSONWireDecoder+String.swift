extension WireJSONParser {
    /// Parses the string whose opening quote is at `index`.
    ///
    /// Fast path: a string without escapes is scanned once and decoded from the input bytes in place.
    /// Only strings with escapes go through `scratch`.
    mutating func parseString() throws(WireDecodingError) -> String {
        let quote = index
        index += 1
        let start = index
        var bitsSeen: UInt8 = 0
        while index < bytes.count {
            skipPlainBytes(bitsSeen: &bitsSeen)
            guard index < bytes.count else { break }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let range = start..<index
                index += 1
                return try makeString(UnsafeBufferPointer(rebasing: bytes[range]), isASCII: bitsSeen < 0x80, at: quote)
            }
            if byte == UInt8(ascii: "\\") {
                return try parseEscapedString(start: start, rawBitsSeen: bitsSeen, quote: quote)
            }
            if byte < 0x20 {
                throw failure("control character \(describeByte(at: index)) in a string must be escaped")
            }
            bitsSeen |= byte
            index += 1
        }
        throw failure("unterminated string", at: quote)
    }

    /// Continues `parseString` from the first backslash, collecting the decoded bytes in `scratch`.
    private mutating func parseEscapedString(
        start: Int, rawBitsSeen: UInt8, quote: Int
    ) throws(WireDecodingError) -> String {
        var bitsSeen = rawBitsSeen
        scratch.removeAll(keepingCapacity: true)
        var runStart = start
        while index < bytes.count {
            skipPlainBytes(bitsSeen: &bitsSeen)
            guard index < bytes.count else { break }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                index += 1
                let isASCII = bitsSeen < 0x80
                let result = scratch.withUnsafeBufferPointer { buffer in
                    Result { () throws(WireDecodingError) in try makeString(buffer, isASCII: isASCII, at: quote) }
                }
                return try result.get()
            case UInt8(ascii: "\\"):
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                index += 1
                try parseEscape()
                runStart = index
            case 0..<0x20:
                throw failure("control character \(describeByte(at: index)) in a string must be escaped")
            default:
                bitsSeen |= byte
                index += 1
            }
        }
        throw failure("unterminated string", at: quote)
    }

    /// Advances `index` eight bytes at a time while none of them is `"`, `\\` or a control character,
    /// noting in `bitsSeen` whether any was non-ASCII. Stops at (or before) the first such byte.
    private mutating func skipPlainBytes(bitsSeen: inout UInt8) {
        while bytes.count &- index >= 8 {
            let word = WireText.word(bytes, at: index)
            let specials =
                WireText.bytesEqual(word, UInt8(ascii: "\"")) | WireText.bytesEqual(word, UInt8(ascii: "\\"))
                | WireText.bytesBelow(word, 0x20)
            if specials != 0 { return }
            if word & WireText.highBits != 0 { bitsSeen |= 0x80 }
            index &+= 8
        }
    }

    /// Decodes the escape whose backslash was just consumed and appends its UTF-8 to `scratch`.
    private mutating func parseEscape() throws(WireDecodingError) {
        guard index < bytes.count else { throw failure("unterminated escape") }
        let letter = bytes[index]
        index += 1
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(letter)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"): appendUTF8(try parseUnicodeEscape())
        default: throw failure("invalid escape '\\\(describeByte(at: index - 1))'", at: index - 2)
        }
    }

    /// Parses the hex digits of `\uXXXX` (and of a following low surrogate), returning the scalar value.
    private mutating func parseUnicodeEscape() throws(WireDecodingError) -> UInt32 {
        let escapeStart = index - 2
        let unit = try parseHex4()
        switch unit {
        case 0xD800...0xDBFF:
            guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
            else {
                throw failure("high surrogate \\u\(hex(unit)) is not followed by a low surrogate", at: escapeStart)
            }
            index += 2
            let low = try parseHex4()
            guard (0xDC00...0xDFFF).contains(low) else {
                throw failure("high surrogate \\u\(hex(unit)) is followed by \\u\(hex(low))", at: escapeStart)
            }
            return 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
        case 0xDC00...0xDFFF:
            throw failure("lone low surrogate \\u\(hex(unit))", at: escapeStart)
        default:
            return unit
        }
    }

    private mutating func parseHex4() throws(WireDecodingError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw failure("\\u needs 4 hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("\\u needs 4 hex digits, found \(describeByte(at: index))")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Appends the UTF-8 of a scalar value (never a surrogate; at most 0x10FFFF).
    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Makes a String of UTF-8 bytes, validating them unless they are known to be ASCII.
    /// (Escapes always yield valid UTF-8, so only the raw bytes decide.)
    private func makeString(
        _ utf8: UnsafeBufferPointer<UInt8>, isASCII: Bool, at quote: Int
    ) throws(WireDecodingError) -> String {
        if isASCII { return String(decoding: utf8, as: UTF8.self) }
        guard let string = String(validating: utf8, as: UTF8.self) else {
            throw failure("string is not valid UTF-8", at: quote)
        }
        return string
    }

    private func hex(_ unit: UInt32) -> String {
        let digits = String(unit, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
