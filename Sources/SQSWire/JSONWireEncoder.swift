/// Encodes a `WireValue` as a compact JSON document for the AWS JSON 1.0 protocol.
///
/// - Object members in their order; no whitespace.
/// - Strings escape `"`, `\` and control characters below 0x20 (as `\n` `\r` `\t` `\b` `\f`, else
///   `\u00XX`); everything else, non-ASCII included, is raw UTF-8.
/// - Integers as decimals; doubles in the shortest text that reads back as the same value
///   (a non-finite double, which JSON cannot carry, as `null`); booleans; `null`.
public enum JSONWireEncoder {
    /// Encodes `value` as UTF-8 JSON bytes.
    public static func encode(_ value: WireValue) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        encode(value, into: &output)
        return output
    }

    /// Encodes `value` as a JSON string.
    public static func encodeToString(_ value: WireValue) -> String {
        String(decoding: encode(value), as: UTF8.self)
    }

    /// Appends the JSON of `value` to `output`.
    public static func encode(_ value: WireValue, into output: inout [UInt8]) {
        switch value {
        case .string(let string):
            appendString(string, to: &output)
        case .integer(let integer):
            WireText.appendDecimal(integer, to: &output)
        case .double(let double):
            if double.isFinite {
                WireText.appendDouble(double, to: &output)
            } else {
                appendASCII("null", to: &output)
            }
        case .boolean(let flag):
            appendASCII(flag ? "true" : "false", to: &output)
        case .null:
            appendASCII("null", to: &output)
        case .list(let elements):
            output.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                encode(element, into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            for (position, member) in object.members.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                appendString(member.name, to: &output)
                output.append(UInt8(ascii: ":"))
                encode(member.value, into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func appendASCII(_ text: StaticString, to output: inout [UInt8]) {
        text.withUTF8Buffer { output.append(contentsOf: $0) }
    }

    /// Appends a quoted, escaped string, copying runs that need no escape in one go.
    private static func appendString(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        WireText.withUTF8(string) { utf8 in
            var runStart = 0
            var position = 0
            while position < utf8.count {
                // Eight bytes at a time while none needs an escape.
                while utf8.count &- position >= 8 {
                    let word = WireText.word(utf8, at: position)
                    let specials =
                        WireText.bytesEqual(word, UInt8(ascii: "\"")) | WireText.bytesEqual(word, UInt8(ascii: "\\"))
                        | WireText.bytesBelow(word, 0x20)
                    if specials != 0 { break }
                    position &+= 8
                }
                let end = min(position + 8, utf8.count)
                while position < end {
                    let byte = utf8[position]
                    if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                        output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<position]))
                        appendEscape(byte, to: &output)
                        runStart = position + 1
                    }
                    position += 1
                }
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func appendEscape(_ byte: UInt8, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): output.append(byte)
        case 0x0A: output.append(UInt8(ascii: "n"))
        case 0x0D: output.append(UInt8(ascii: "r"))
        case 0x09: output.append(UInt8(ascii: "t"))
        case 0x08: output.append(UInt8(ascii: "b"))
        case 0x0C: output.append(UInt8(ascii: "f"))
        default:
            let hexDigits: StaticString = "0123456789ABCDEF"
            output.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            hexDigits.withUTF8Buffer { digits in
                output.append(digits[Int(byte >> 4)])
                output.append(digits[Int(byte & 0x0F)])
            }
        }
    }
}
