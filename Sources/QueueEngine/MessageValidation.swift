/// Checks of message contents against SQS's rules (SQS-REFERENCE.md §4).
enum MessageValidation {
    /// Whether every character is one SQS allows: #x9 #xA #xD #x20–#xD7FF #xE000–#xFFFD #x10000–#x10FFFF.
    static func hasOnlyAllowedCharacters(_ text: String) -> Bool {
        // Most bodies are printable ASCII: check eight bytes at a time, and only walk the rest.
        let isPlainASCII = text.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            let ones: UInt64 = 0x0101_0101_0101_0101
            let raw = UnsafeRawBufferPointer(bytes)
            var index = 0
            while index + 8 <= bytes.count {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                // A byte with the high bit set, or below 0x20 (the classic "has less than" test).
                if (word | ((word &- ones &* 0x20) & ~word)) & (ones &* 0x80) != 0 { return false }
                index += 8
            }
            while index < bytes.count {
                guard bytes[index] >= 0x20 && bytes[index] < 0x80 else { return false }
                index += 1
            }
            return true
        }
        if isPlainASCII == true { return true }
        return allowsEveryScalar(text)
    }

    static func allowsEveryScalar(_ text: String) -> Bool {
        var utf8 = text.utf8.makeIterator()
        var pending = 0
        var lead: UInt8 = 0
        var second: UInt8 = 0
        while let byte = utf8.next() {
            if pending > 0 {
                pending -= 1
                if lead == 0xEF && pending == 1 { second = byte }
                if lead == 0xEF && pending == 0 && second == 0xBF && (byte == 0xBE || byte == 0xBF) { return false }
                continue
            }
            if byte < 0x20 {
                if byte != 0x09 && byte != 0x0A && byte != 0x0D { return false }
            } else if byte >= 0xF0 {
                pending = 3
                lead = byte
            } else if byte >= 0xE0 {
                pending = 2
                lead = byte
            } else if byte >= 0xC0 {
                pending = 1
                lead = byte
            }
        }
        return true
    }

    static let invalidCharactersMessage =
        "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"

    /// A character of a message attribute name: a letter or digit of any script (`attr.1øßä` is a valid
    /// name, `§` is not), '-', '_' or '.'.
    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber:
            return true
        default:
            return scalar == "-" || scalar == "_" || scalar == "."
        }
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
            || byte == 0x2d || byte == 0x5f || byte == 0x2e
    }

    /// Validates user message attributes; returns their size in bytes.
    static func validateAttributes(_ attributes: MessageAttributes) throws(QueueError) -> Int {
        guard attributes.count <= QueueLimits.messageAttributesMax else {
            throw QueueError(
                .invalidParameterValue,
                "Number of message attributes [\(attributes.count)] exceeds the allowed maximum [\(QueueLimits.messageAttributesMax)]."
            )
        }
        var size = 0
        for name in attributes.keys.sorted() {
            let value = attributes[name]!
            try validateName(name)
            try validateValue(value, name: name)
            size += value.sizeBytes(name: name)
        }
        return size
    }

    static func validateName(_ name: String) throws(QueueError) {
        let lower = name.lowercased()
        guard !name.isEmpty, name.utf8.count <= QueueLimits.messageAttributeNameLengthMax,
            name.unicodeScalars.allSatisfy(isNameScalar), !name.hasPrefix("."), !name.hasSuffix("."),
            !name.contains(".."), !lower.hasPrefix("aws."), !lower.hasPrefix("amazon.")
        else {
            throw QueueError(
                .invalidParameterValue,
                "Message (user) attribute name '\(name)' is invalid. Names may contain alphanumerics, '_', '-' and '.', must not start or end with '.', contain '..', or start with 'AWS.' or 'Amazon.', and be at most 256 characters."
            )
        }
    }

    static func validateValue(_ value: MessageAttributeValue, name: String) throws(QueueError) {
        let parts = value.dataType.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let base = parts.first.map(String.init) ?? ""
        let labelValid = parts.count == 1 || (!parts[1].isEmpty && parts[1].utf8.allSatisfy(isNameByte))
        guard ["String", "Number", "Binary"].contains(base), labelValid,
            value.dataType.utf8.count <= QueueLimits.messageAttributeDataTypeLengthMax
        else {
            if value.dataType.isEmpty {
                throw QueueError(
                    .invalidParameterValue,
                    "The message attribute '\(name)' must contain non-empty message attribute type.")
            }
            throw QueueError(
                .invalidParameterValue,
                "The type of message (user) attribute '\(name)' is invalid. You must use only the following supported type prefixes: Binary, Number, String."
            )
        }
        if base == "Binary" {
            guard let binary = value.binaryValue, !binary.isEmpty, value.stringValue == nil else {
                throw QueueError(
                    .invalidParameterValue,
                    "Message (user) attribute '\(name)' must contain a non-empty value of type 'Binary'.")
            }
            return
        }
        guard let string = value.stringValue, !string.isEmpty, value.binaryValue == nil else {
            throw QueueError(
                .invalidParameterValue,
                "Message (user) attribute '\(name)' must contain a non-empty value of type '\(base)'.")
        }
        // In an attribute value (unlike a body) SQS answers InvalidParameterValue.
        guard hasOnlyAllowedCharacters(string) else {
            throw QueueError(.invalidParameterValue, invalidCharactersMessage)
        }
        if base == "Number" && !isValidNumber(string) {
            throw QueueError(
                .invalidParameterValue,
                "Value \(string) for parameter MessageAttribute \(name) is invalid. Reason: Could not parse the number or the number is out of range (-10^128 to 10^126)."
            )
        }
    }

    /// A decimal number within −10^128…10^126 with at most 38 significant digits.
    static func isValidNumber(_ text: String) -> Bool {
        var bytes = Substring(text.trimmingSpaces).utf8[...]
        if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        var digits = 0
        var significant = 0
        var exponentText = ""
        var seenPoint = false
        var iterator = bytes.makeIterator()
        var integerDigits = 0
        var leadingZeros = true
        var fractionLeadingZeros = 0
        while let byte = iterator.next() {
            if byte >= 0x30 && byte <= 0x39 {
                digits += 1
                if byte != 0x30 || !leadingZeros {
                    leadingZeros = false
                    significant += 1
                } else if seenPoint {
                    fractionLeadingZeros += 1
                }
                if !seenPoint && !leadingZeros { integerDigits += 1 }
            } else if byte == UInt8(ascii: ".") && !seenPoint {
                seenPoint = true
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                while let rest = iterator.next() { exponentText.append(Character(Unicode.Scalar(rest))) }
                guard !exponentText.isEmpty, exponentText.utf8.count <= 8, Int(exponentText) != nil else {
                    return false
                }
            } else {
                return false
            }
        }
        guard digits > 0, significant <= 38 else { return false }
        if significant == 0 { return true }
        let exponent = Int(exponentText) ?? 0
        let magnitude = (integerDigits > 0 ? integerDigits - 1 : -(fractionLeadingZeros + 1)) + exponent
        return magnitude >= -128 && magnitude < 126
    }

    /// Validates a FIFO group or deduplication id: 1–128 characters of alphanumerics and punctuation.
    static func validateFifoId(_ value: String, parameter: String) throws(QueueError) {
        guard !value.isEmpty, value.utf8.count <= QueueLimits.fifoIdLengthMax,
            value.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7e })
        else {
            throw QueueError.invalidParameter(
                parameter, value,
                reason: "\(parameter) can only include alphanumeric and punctuation characters. 1 to 128 in length.")
        }
    }

    /// Validates batch entry ids: present, distinct, well formed, at most 10.
    static func validateBatch(ids: [String?], entryName: String) throws(QueueError) {
        guard !ids.isEmpty else {
            throw QueueError(.emptyBatchRequest, "There should be at least one \(entryName) in the request.")
        }
        guard ids.count <= QueueLimits.batchEntriesMax else {
            throw QueueError(
                .tooManyEntriesInBatchRequest,
                "Maximum number of entries per request are \(QueueLimits.batchEntriesMax). You have sent \(ids.count).")
        }
        var seen = Set<String>()
        for id in ids {
            guard let id, !id.isEmpty, id.utf8.count <= QueueLimits.batchEntryIdLengthMax,
                id.utf8.allSatisfy({ isNameByte($0) && $0 != 0x2e })
            else {
                throw QueueError(
                    .invalidBatchEntryId,
                    "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long."
                )
            }
            guard seen.insert(id).inserted else {
                throw QueueError(.batchEntryIdsNotDistinct, "Id \(id) repeated.")
            }
        }
    }
}

extension String {
    var trimmingSpaces: Substring {
        var slice = Substring(self)
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return slice
    }
}
