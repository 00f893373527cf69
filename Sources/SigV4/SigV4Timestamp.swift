/// The request time of a signed request: Unix epoch seconds and the ISO 8601 basic form
/// (`YYYYMMDD'T'HHMMSS'Z'`) that goes into the string to sign. Pure calendar arithmetic in UTC,
/// no clock and no Foundation.
struct SigV4Timestamp: Equatable, Sendable {
    /// Seconds since 1970-01-01T00:00:00Z.
    var epochSeconds: Int64
    /// The time as `YYYYMMDDTHHMMSSZ`, e.g. `20150830T123600Z`.
    var basic: String

    /// The `YYYYMMDD` part of `basic`, which the credential scope's date must equal.
    var date: Substring { basic.prefix(8) }

    init(epochSeconds: Int64) {
        self.epochSeconds = epochSeconds
        self.basic = Self.formatBasic(epochSeconds: epochSeconds)
    }

    /// Parses the ISO 8601 basic form of `X-Amz-Date`, exactly 16 bytes; nil if malformed.
    init?(basic text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z"),
            let year = Self.number(bytes[0..<4]), let month = Self.number(bytes[4..<6]),
            let day = Self.number(bytes[6..<8]), let hour = Self.number(bytes[9..<11]),
            let minute = Self.number(bytes[11..<13]), let second = Self.number(bytes[13..<15]),
            let seconds = Self.epochSeconds(year, month, day, hour, minute, second)
        else { return nil }
        self.epochSeconds = seconds
        self.basic = text
    }

    /// Parses an HTTP `Date` header in RFC 1123 form, `Sun, 30 Aug 2015 12:36:00 GMT`. The weekday
    /// is optional and not checked; the zone may be `GMT`, `UT`, `UTC`, `Z` or `±HHMM` (botocore
    /// sends `-0000`). Nil if malformed.
    init?(httpDate text: String) {
        guard text.utf8.count <= SigV4Limits.dateValueBytesMax else { return nil }
        var fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { Array($0.utf8) }
        if let first = fields.first, first.last == UInt8(ascii: ",") { fields.removeFirst() }
        guard fields.count == 5, let day = Self.number(fields[0][...]), (1...2).contains(fields[0].count),
            let month = Self.monthNumber(fields[1]), fields[2].count == 4, let year = Self.number(fields[2][...]),
            fields[3].count == 8, fields[3][2] == UInt8(ascii: ":"), fields[3][5] == UInt8(ascii: ":"),
            let hour = Self.number(fields[3][0..<2]), let minute = Self.number(fields[3][3..<5]),
            let second = Self.number(fields[3][6..<8]), let offset = Self.zoneOffsetSeconds(fields[4]),
            let local = Self.epochSeconds(year, month, day, hour, minute, second)
        else { return nil }
        self.init(epochSeconds: local - offset)
    }

    private static func number(_ bytes: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in bytes {
            guard let digit = SigV4ASCII.digit(byte) else { return nil }
            value = value * 10 + digit
        }
        return bytes.isEmpty ? nil : value
    }

    private static let monthNames = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]

    private static func monthNumber(_ bytes: [UInt8]) -> Int? {
        let lowercase = String(decoding: bytes.map(SigV4ASCII.lowercased), as: UTF8.self)
        return monthNames.firstIndex(of: lowercase).map { $0 + 1 }
    }

    private static func zoneOffsetSeconds(_ bytes: [UInt8]) -> Int64? {
        switch String(decoding: bytes, as: UTF8.self) {
        case "GMT", "UT", "UTC", "Z": return 0
        default: break
        }
        guard bytes.count == 5, bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-"),
            let hours = number(bytes[1..<3]), let minutes = number(bytes[3..<5]), hours < 24, minutes < 60
        else { return nil }
        let magnitude = Int64(hours * 3_600 + minutes * 60)
        return bytes[0] == UInt8(ascii: "-") ? -magnitude : magnitude
    }

    private static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    private static func daysInMonth(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Epoch seconds of a UTC civil time with year 0–9999, or nil if a field is out of range.
    static func epochSeconds(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int)
        -> Int64?
    {
        guard (0...9_999).contains(year), (1...12).contains(month), (1...daysInMonth(year, month)).contains(day),
            (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second)
        else { return nil }
        return daysFromCivil(year, month, day) * 86_400 + Int64(hour * 3_600 + minute * 60 + second)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-compatible
    /// low-level date algorithms", `days_from_civil`).
    private static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthFromMarch = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Epoch seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range that is formatted.
    private static let epochSecondsFormattable: ClosedRange<Int64> = -62_167_219_200...253_402_300_799

    /// `YYYYMMDDTHHMMSSZ` for `epochSeconds`, clamped to years 0–9999 (`civil_from_days`, same source).
    static func formatBasic(epochSeconds unclamped: Int64) -> String {
        let epochSeconds = min(max(unclamped, epochSecondsFormattable.lowerBound), epochSecondsFormattable.upperBound)
        let days = epochSeconds >= 0 ? epochSeconds / 86_400 : (epochSeconds - 86_399) / 86_400
        let secondOfDay = epochSeconds - days * 86_400
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return padded(year, 4) + padded(month, 2) + padded(day, 2) + "T" + padded(secondOfDay / 3_600, 2)
            + padded(secondOfDay % 3_600 / 60, 2) + padded(secondOfDay % 60, 2) + "Z"
    }

    private static func padded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
