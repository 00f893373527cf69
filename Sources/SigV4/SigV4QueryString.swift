/// One `name=value` pair of a query string, percent-decoded.
struct SigV4QueryParameter: Sendable, Equatable {
    var name: [UInt8]
    var value: [UInt8]
}

/// Splitting a raw query string into decoded parameters, and building the canonical query string.
enum SigV4QueryString {
    /// The parameters of `rawQuery` in order: split on `&`, then on the first `=` (a pair without
    /// `=` has an empty value), each side percent-decoded with `+` as space. Empty pairs (`a=1&&b=2`,
    /// a trailing `&`) are skipped.
    static func parse(_ rawQuery: String) throws(SigV4Error) -> [SigV4QueryParameter] {
        guard rawQuery.utf8.count <= SigV4Limits.rawQueryBytesMax else {
            throw .incompleteSignature("The query string is longer than \(SigV4Limits.rawQueryBytesMax) bytes.")
        }
        let bytes = Array(rawQuery.utf8)
        var parameters: [SigV4QueryParameter] = []
        var pairStart = bytes.startIndex
        while pairStart < bytes.endIndex {
            let pairEnd = bytes[pairStart...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.endIndex
            defer { pairStart = pairEnd + 1 }
            guard pairStart < pairEnd else { continue }
            guard parameters.count < SigV4Limits.queryParameterCountMax else {
                throw .incompleteSignature(
                    "The query string has more than \(SigV4Limits.queryParameterCountMax) parameters.")
            }
            let pair = bytes[pairStart..<pairEnd]
            let equals = pair.firstIndex(of: UInt8(ascii: "=")) ?? pairEnd
            let value = equals < pairEnd ? pair[(equals + 1)...] : pair[pairEnd...]
            parameters.append(
                SigV4QueryParameter(
                    name: SigV4PercentEncoding.decodeQueryComponent(pair[..<equals]),
                    value: SigV4PercentEncoding.decodeQueryComponent(value)))
        }
        return parameters
    }

    /// The canonical query string: each name and value URI-encoded, pairs sorted by encoded name and
    /// then encoded value, joined as `name=value` with `&`. A parameter named `excludedName`
    /// (`X-Amz-Signature` of a presigned request) is left out.
    static func canonical(_ parameters: [SigV4QueryParameter], excluding excludedName: [UInt8]?) -> [UInt8] {
        var encoded: [(name: [UInt8], value: [UInt8])] = []
        encoded.reserveCapacity(parameters.count)
        for parameter in parameters where parameter.name != excludedName {
            encoded.append(
                (SigV4PercentEncoding.encode(parameter.name), SigV4PercentEncoding.encode(parameter.value)))
        }
        encoded.sort { left, right in
            left.name == right.name
                ? left.value.lexicographicallyPrecedes(right.value)
                : left.name.lexicographicallyPrecedes(right.name)
        }
        var output: [UInt8] = []
        output.reserveCapacity(encoded.reduce(0) { $0 + $1.name.count + $1.value.count + 2 })
        for (index, pair) in encoded.enumerated() {
            if index > 0 { output.append(UInt8(ascii: "&")) }
            output.append(contentsOf: pair.name)
            output.append(UInt8(ascii: "="))
            output.append(contentsOf: pair.value)
        }
        return output
    }

    /// The single value of the parameter named `name`: nil if absent; throws if it repeats.
    static func singleValue(of name: String, in parameters: [SigV4QueryParameter]) throws(SigV4Error) -> [UInt8]? {
        let nameBytes = Array(name.utf8)
        var found: [UInt8]?
        for parameter in parameters where parameter.name == nameBytes {
            guard found == nil else {
                throw .incompleteSignature("The query-string parameter '\(name)' appears more than once.")
            }
            found = parameter.value
        }
        return found
    }
}
