/// Splits and percent-decodes an `application/x-www-form-urlencoded` byte string.
/// Lives only for one `QueryWireDecoder.parseForm` call.
struct WireFormParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func parsePairs() throws(WireDecodingError) -> [(name: String, value: String)] {
        var pairs: [(name: String, value: String)] = []
        var segmentStart = 0
        while segmentStart <= bytes.count {
            var end = segmentStart
            while end < bytes.count, bytes[end] != UInt8(ascii: "&") { end += 1 }
            if end > segmentStart {
                guard pairs.count < WireLimits.parameterCountMax else {
                    throw WireDecodingError(message: "more than \(WireLimits.parameterCountMax) parameters")
                }
                var equals = segmentStart
                while equals < end, bytes[equals] != UInt8(ascii: "=") { equals += 1 }
                let name = try decodeComponent(segmentStart..<equals)
                let value = equals < end ? try decodeComponent((equals + 1)..<end) : ""
                pairs.append((name: name, value: value))
            }
            segmentStart = end + 1
        }
        return pairs
    }

    /// Decodes `+` and `%XX` in one name or value and checks that the result is UTF-8.
    private mutating func decodeComponent(_ range: Range<Int>) throws(WireDecodingError) -> String {
        var needsDecoding = false
        for position in range {
            let byte = bytes[position]
            if byte == UInt8(ascii: "%") || byte == UInt8(ascii: "+") || byte >= 0x80 {
                needsDecoding = true
                break
            }
        }
        if !needsDecoding {
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        }
        scratch.removeAll(keepingCapacity: true)
        var position = range.lowerBound
        while position < range.upperBound {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "+"):
                scratch.append(0x20)
                position += 1
            case UInt8(ascii: "%"):
                guard range.upperBound - position >= 3,
                    let high = hexValue(bytes[position + 1]), let low = hexValue(bytes[position + 2])
                else {
                    throw WireDecodingError(message: "malformed form data: bad percent-escape at byte \(position)")
                }
                scratch.append(high << 4 | low)
                position += 3
            default:
                scratch.append(byte)
                position += 1
            }
        }
        guard let string = String(validating: scratch, as: UTF8.self) else {
            throw WireDecodingError(
                message: "malformed form data: the parameter at byte \(range.lowerBound) is not valid UTF-8")
        }
        return string
    }

    private func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
