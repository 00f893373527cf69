/// Decodes request bodies of the AWS JSON 1.0 protocol (`application/x-amz-json-1.0`) into a `WireValue`.
///
/// A strict RFC 8259 parser, written by hand for the hot path (no `JSONSerialization`):
/// - any value may be at the top level, with whitespace (space, tab, LF, CR) before and after it;
///   anything else after it is an error;
/// - strings take every RFC 8259 escape, `\uXXXX` surrogate pairs included; a lone surrogate,
///   a raw control character (< 0x20) or invalid UTF-8 is an error;
/// - a number without fraction or exponent that fits in `Int64` becomes `.integer`, any other
///   number `.double`; a number beyond `Double`'s range is an error;
/// - a repeated member name keeps its first position and its last value;
/// - arrays and objects nest at most `WireLimits.nestingDepthMax` deep.
///
/// It never traps or loops on any input; the caller caps the body size.
public enum JSONWireDecoder {
    /// Decodes one JSON document.
    /// - Throws: `WireDecodingError` naming the byte offset of the first problem.
    public static func decode(_ bytes: [UInt8]) throws(WireDecodingError) -> WireValue {
        let result = bytes.withUnsafeBufferPointer { buffer in decodeResult(buffer) }
        return try result.get()
    }

    /// Decodes one JSON document from any byte collection (a `ByteBuffer` view, a `Data`, a slice).
    /// Contiguous storage is read in place; other collections are copied once.
    /// - Throws: `WireDecodingError` naming the byte offset of the first problem.
    public static func decode(_ bytes: some Collection<UInt8>) throws(WireDecodingError) -> WireValue {
        if let result = bytes.withContiguousStorageIfAvailable({ buffer in decodeResult(buffer) }) {
            return try result.get()
        }
        return try decode(Array(bytes))
    }

    /// Decodes one JSON document from the UTF-8 of `text`.
    /// - Throws: `WireDecodingError` naming the byte offset of the first problem.
    public static func decode(_ text: String) throws(WireDecodingError) -> WireValue {
        try decode(Array(text.utf8))
    }

    private static func decodeResult(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<WireValue, WireDecodingError> {
        Result { () throws(WireDecodingError) -> WireValue in
            var parser = WireJSONParser(bytes: buffer)
            return try parser.parseDocument()
        }
    }
}

/// The parser state: a read position in a borrowed buffer, and a scratch buffer for strings with escapes.
/// Lives only for one `JSONWireDecoder.decode` call.
struct WireJSONParser {
    /// Objects with more members than this index their names in a dictionary to find repeats.
    static let linearScanMemberCountMax = 8
    /// Room reserved in a non-empty array or object, saving the first few regrowths.
    static let initialCapacity = 8

    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func parseDocument() throws(WireDecodingError) -> WireValue {
        skipWhitespace()
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard index == bytes.count else {
            throw failure("unexpected \(describeByte(at: index)) after the JSON value")
        }
        return value
    }

    /// Parses the value at `index`; `depth` counts the containers it is inside.
    mutating func parseValue(depth: Int) throws(WireDecodingError) -> WireValue {
        guard index < bytes.count else { throw failure("unexpected end of input, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            return .object(try parseObject(depth: depth + 1))
        case UInt8(ascii: "["):
            return .list(try parseArray(depth: depth + 1))
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        case UInt8(ascii: "t"):
            try parseLiteral("true")
            return .boolean(true)
        case UInt8(ascii: "f"):
            try parseLiteral("false")
            return .boolean(false)
        case UInt8(ascii: "n"):
            try parseLiteral("null")
            return .null
        default:
            throw failure("unexpected \(describeByte(at: index)), expected a value")
        }
    }

    private mutating func parseObject(depth: Int) throws(WireDecodingError) -> WireObject {
        try checkDepth(depth)
        index += 1  // "{"
        var members: [WireMember] = []
        var positions: [String: Int]? = nil
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return WireObject(members)
        }
        members.reserveCapacity(Self.initialCapacity)
        while true {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw failure("unexpected \(describeByte(at: index)), expected a member name")
            }
            let name = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw failure("unexpected \(describeByte(at: index)), expected ':'")
            }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            Self.insert(WireMember(name, value), into: &members, positions: &positions)
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end of input in an object") }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                index += 1
                return WireObject(members)
            default:
                throw failure("unexpected \(describeByte(at: index)), expected ',' or '}'")
            }
        }
    }

    /// Appends `member`, or replaces the value of an earlier member of the same name (last wins).
    private static func insert(
        _ member: WireMember, into members: inout [WireMember], positions: inout [String: Int]?
    ) {
        if positions == nil, members.count >= linearScanMemberCountMax {
            var built: [String: Int] = [:]
            built.reserveCapacity(members.count * 2)
            for (position, existing) in members.enumerated() { built[existing.name] = position }
            positions = built
        }
        if positions != nil {
            if let existing = positions?[member.name] {
                members[existing].value = member.value
            } else {
                positions?[member.name] = members.count
                members.append(member)
            }
        } else if let existing = members.firstIndex(where: { $0.name == member.name }) {
            members[existing].value = member.value
        } else {
            members.append(member)
        }
    }

    private mutating func parseArray(depth: Int) throws(WireDecodingError) -> [WireValue] {
        try checkDepth(depth)
        index += 1  // "["
        var elements: [WireValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return elements
        }
        elements.reserveCapacity(Self.initialCapacity)
        while true {
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end of input in an array") }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                index += 1
                return elements
            default:
                throw failure("unexpected \(describeByte(at: index)), expected ',' or ']'")
            }
        }
    }

    private func checkDepth(_ depth: Int) throws(WireDecodingError) {
        guard depth <= WireLimits.nestingDepthMax else {
            throw failure("arrays and objects nest deeper than \(WireLimits.nestingDepthMax) levels")
        }
    }

    private mutating func parseLiteral(_ literal: StaticString) throws(WireDecodingError) {
        let matched = literal.withUTF8Buffer { expected -> Bool in
            guard bytes.count - index >= expected.count else { return false }
            for offset in 0..<expected.count where bytes[index + offset] != expected[offset] {
                return false
            }
            return true
        }
        guard matched else { throw failure("invalid literal, expected '\(literal)'") }
        index += literal.utf8CodeUnitCount
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// An error at the current position (or `offset`).
    func failure(_ problem: String, at offset: Int? = nil) -> WireDecodingError {
        WireDecodingError(message: "invalid JSON at byte \(offset ?? index): \(problem)")
    }

    /// "end of input", or the byte as a character or hex code, for error messages.
    func describeByte(at offset: Int) -> String {
        guard offset < bytes.count else { return "end of input" }
        let byte = bytes[offset]
        if byte >= 0x21, byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }
}
