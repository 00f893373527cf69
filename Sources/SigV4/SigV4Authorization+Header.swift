extension SigV4Authorization {
    /// Parses `AWS4-HMAC-SHA256 Credential=AKID/…/aws4_request, SignedHeaders=a;b, Signature=hex`.
    /// Components may come in any order, separated by commas and/or spaces (botocore writes `, `,
    /// some SDKs `,` alone); unknown `key=value` components are ignored. The time comes from
    /// `X-Amz-Date`, else from `Date`.
    init(header value: String, request: SigV4Request) throws(SigV4Error) {
        guard value.utf8.count <= SigV4Limits.authorizationHeaderBytesMax else {
            throw .incompleteSignature(
                "The Authorization header is longer than \(SigV4Limits.authorizationHeaderBytesMax) bytes.")
        }
        let bytes = SigV4ASCII.trimmed(Array(value.utf8)[...])
        let isSeparator = { (byte: UInt8) in SigV4ASCII.isWhitespace(byte) || byte == SigV4ASCII.comma }
        let algorithmEnd = bytes.firstIndex(where: isSeparator) ?? bytes.endIndex
        let algorithm = bytes[..<algorithmEnd]
        guard algorithm.elementsEqual(Self.algorithm.utf8) else {
            throw .incompleteSignature("Unsupported AWS 'algorithm': '\(SigV4Error.quoted(algorithm))'.")
        }
        var components: [String: ArraySlice<UInt8>] = [:]
        for component in bytes[algorithmEnd...].split(whereSeparator: isSeparator) {
            guard let equals = component.firstIndex(of: UInt8(ascii: "=")) else {
                throw .incompleteSignature(
                    "'\(SigV4Error.quoted(component))' not a valid key=value pair (missing equal-sign) "
                        + "in Authorization header.")
            }
            let key = String(decoding: component[..<equals], as: UTF8.self)
            guard ["Credential", "SignedHeaders", "Signature"].contains(key) else { continue }
            guard components[key] == nil else {
                throw .incompleteSignature("Authorization header has more than one '\(key)' parameter.")
            }
            components[key] = component[(equals + 1)...]
        }
        let timestamp = try Self.headerTimestamp(of: request)
        var missing: [String] = []
        for key in ["Credential", "Signature", "SignedHeaders"] where components[key]?.isEmpty ?? true {
            missing.append("Authorization header requires '\(key)' parameter.")
        }
        if timestamp == nil {
            missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        }
        guard missing.isEmpty, let credential = components["Credential"],
            let signedHeaders = components["SignedHeaders"],
            let signature = components["Signature"], let timestamp
        else { throw .incompleteSignature(missing.joined(separator: " ")) }
        self.init(
            location: .header,
            scope: try SigV4CredentialScope(parsing: credential),
            signedHeaderNames: try Self.signedHeaderNames(signedHeaders),
            signature: Array(signature.prefix(SigV4Limits.signatureBytesMax)),
            timestamp: timestamp,
            expiresSeconds: nil)
    }

    /// The request time from the `X-Amz-Date` header (ISO 8601 basic), else from the `Date` header
    /// (RFC 1123); nil if neither is present. A malformed or repeated one is an incomplete signature.
    static func headerTimestamp(of request: SigV4Request) throws(SigV4Error) -> SigV4Timestamp? {
        let amazonDates = request.headerValues(named: "x-amz-date")
        if !amazonDates.isEmpty {
            guard amazonDates.count == 1, let timestamp = SigV4Timestamp(basic: trimmed(amazonDates[0])) else {
                throw .incompleteSignature(
                    "X-Amz-Date must be one value in ISO 8601 basic format (yyyyMMdd'T'HHmmss'Z').")
            }
            return timestamp
        }
        let httpDates = request.headerValues(named: "date")
        if !httpDates.isEmpty {
            guard httpDates.count == 1, let timestamp = SigV4Timestamp(httpDate: httpDates[0]) else {
                throw .incompleteSignature("Date must be one value in RFC 1123 format (Sun, 30 Aug 2015 12:36:00 GMT).")
            }
            return timestamp
        }
        return nil
    }

    private static func trimmed(_ text: String) -> String {
        guard text.utf8.count <= SigV4Limits.dateValueBytesMax else { return text }
        return String(decoding: SigV4ASCII.trimmed(Array(text.utf8)[...]), as: UTF8.self)
    }
}
