extension SigV4Authorization {
    /// Parses the presigned parameters `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
    /// `X-Amz-SignedHeaders`, `X-Amz-Signature` and the optional `X-Amz-Expires` (IAM guide
    /// "Signature Version 4 request elements", query string authentication). Each may appear once.
    init(presigned parameters: [SigV4QueryParameter]) throws(SigV4Error) {
        let algorithm = try SigV4QueryString.singleValue(of: "X-Amz-Algorithm", in: parameters)
        let credential = try SigV4QueryString.singleValue(of: "X-Amz-Credential", in: parameters)
        let date = try SigV4QueryString.singleValue(of: "X-Amz-Date", in: parameters)
        let signedHeaders = try SigV4QueryString.singleValue(of: "X-Amz-SignedHeaders", in: parameters)
        let signature = try SigV4QueryString.singleValue(of: "X-Amz-Signature", in: parameters)
        let expires = try SigV4QueryString.singleValue(of: "X-Amz-Expires", in: parameters)
        let required = [
            ("X-Amz-Algorithm", algorithm), ("X-Amz-Credential", credential), ("X-Amz-Date", date),
            ("X-Amz-SignedHeaders", signedHeaders), ("X-Amz-Signature", signature),
        ]
        let missing = required.filter { $0.1?.isEmpty ?? true }.map { "'\($0.0)'" }
        guard missing.isEmpty, let algorithm, let credential, let date, let signedHeaders, let signature else {
            throw .incompleteSignature(
                "AWS query-string parameters must include \(missing.joined(separator: ", ")). "
                    + "Re-examine the query-string parameters.")
        }
        guard algorithm.elementsEqual(Self.algorithm.utf8) else {
            throw .incompleteSignature(
                "X-Amz-Algorithm only supports \"\(Self.algorithm)\", not '\(SigV4Error.quoted(algorithm))'.")
        }
        guard date.count <= SigV4Limits.dateValueBytesMax,
            let timestamp = SigV4Timestamp(basic: String(decoding: date, as: UTF8.self))
        else {
            throw .incompleteSignature("X-Amz-Date must be in ISO 8601 basic format (yyyyMMdd'T'HHmmss'Z').")
        }
        var expiresSeconds: Int64?
        if let expires {
            guard let seconds = SigV4ASCII.decimal(expires),
                (1...SigV4Limits.presignExpiresSecondsMax).contains(seconds)
            else {
                throw .incompleteSignature(
                    "X-Amz-Expires must be a whole number of seconds from 1 to \(SigV4Limits.presignExpiresSecondsMax)."
                )
            }
            expiresSeconds = seconds
        }
        self.init(
            location: .queryString,
            scope: try SigV4CredentialScope(parsing: credential),
            signedHeaderNames: try Self.signedHeaderNames(signedHeaders),
            signature: Array(signature.prefix(SigV4Limits.signatureBytesMax)),
            timestamp: timestamp,
            expiresSeconds: expiresSeconds)
    }
}
