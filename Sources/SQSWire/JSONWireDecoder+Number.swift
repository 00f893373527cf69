extension WireJSONParser {
    /// Parses the number at `index` (RFC 8259 grammar: `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`).
    ///
    /// Integral numbers that fit in `Int64` are accumulated directly; any other number is converted
    /// with `Double(_:)` from its validated text and must be finite.
    mutating func parseNumber() throws(WireDecodingError) -> WireValue {
        let start = index
        let isNegative = bytes[index] == UInt8(ascii: "-")
        if isNegative { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else {
            throw failure("unexpected \(describeByte(at: index)), expected a digit")
        }
        // Accumulated as a negative number so that Int64.min fits.
        var negativeMagnitude: Int64 = 0
        var overflowed = false
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) {
                throw failure("a number must not have a leading zero", at: start)
            }
        } else {
            while index < bytes.count, isDigit(bytes[index]) {
                let digit = Int64(bytes[index] &- UInt8(ascii: "0"))
                if !overflowed {
                    let (shifted, overflow1) = negativeMagnitude.multipliedReportingOverflow(by: 10)
                    let (next, overflow2) = shifted.subtractingReportingOverflow(digit)
                    if overflow1 || overflow2 { overflowed = true } else { negativeMagnitude = next }
                }
                index += 1
            }
        }
        var isIntegral = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isIntegral = false
            index += 1
            try skipDigits(in: "the fraction")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isIntegral = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            try skipDigits(in: "the exponent")
        }
        if isIntegral, !overflowed {
            if isNegative { return .integer(negativeMagnitude) }
            if negativeMagnitude != .min { return .integer(-negativeMagnitude) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw failure("number \(text.prefix(40)) is out of range", at: start)
        }
        return .double(value)
    }

    /// Skips one or more digits.
    private mutating func skipDigits(in part: String) throws(WireDecodingError) {
        guard index < bytes.count, isDigit(bytes[index]) else {
            throw failure("unexpected \(describeByte(at: index)), expected a digit in \(part)")
        }
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }
}
