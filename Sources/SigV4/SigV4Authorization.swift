/// The signature information of a request, from its `Authorization` header or from presigned
/// query-string parameters, checked for form but not yet for truth.
struct SigV4Authorization: Sendable {
    /// Where the signature information came from.
    enum Location: Equatable, Sendable {
        /// `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
        case header
        /// `X-Amz-Algorithm`, `X-Amz-Credential`, … in the query string (a presigned URL).
        case queryString
    }

    static let algorithm = "AWS4-HMAC-SHA256"

    var location: Location
    var scope: SigV4CredentialScope
    /// The SignedHeaders names, lowercased, in the order given; never empty, always with `host`.
    var signedHeaderNames: [String]
    /// The signature as sent, expected to be 64 hex digits.
    var signature: [UInt8]
    /// The request time from `X-Amz-Date` (header or query parameter) or else the `Date` header.
    var timestamp: SigV4Timestamp
    /// For a presigned request, `X-Amz-Expires` in seconds if given.
    var expiresSeconds: Int64?

    /// Finds and parses the signature information of `request`.
    /// - Throws: `missingAuthenticationToken` if there is none, `incompleteSignature` if malformed.
    init(of request: SigV4Request, queryParameters: [SigV4QueryParameter]) throws(SigV4Error) {
        let authorizations = request.headerValues(named: "authorization")
        let presignNames = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature"]
            .map { Array($0.utf8) }
        let isPresigned = queryParameters.contains { presignNames.contains($0.name) }
        switch (authorizations.count, isPresigned) {
        case (0, false):
            if Self.bodyHasSignatureParameters(request) {
                throw .incompleteSignature(
                    "SigV4 parameters in a form-encoded body are not supported; "
                        + "send them in the query string or sign with the Authorization header.")
            }
            throw .missingAuthenticationToken()
        case (0, true):
            try self.init(presigned: queryParameters)
        case (1, false):
            try self.init(header: authorizations[0], request: request)
        case (1, true):
            throw .incompleteSignature(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
                    + "or the Authorization header should be specified.")
        default:
            throw .incompleteSignature("The request has more than one Authorization header.")
        }
    }

    init(
        location: Location, scope: SigV4CredentialScope, signedHeaderNames: [String], signature: [UInt8],
        timestamp: SigV4Timestamp, expiresSeconds: Int64?
    ) {
        self.location = location
        self.scope = scope
        self.signedHeaderNames = signedHeaderNames
        self.signature = signature
        self.timestamp = timestamp
        self.expiresSeconds = expiresSeconds
    }

    /// Parses a SignedHeaders value: `;`-separated names, each non-empty and not repeated,
    /// at most `signedHeaderCountMax`, including `host`. Names are lowercased.
    static func signedHeaderNames(_ value: some Collection<UInt8>) throws(SigV4Error) -> [String] {
        guard value.count <= SigV4Limits.signedHeadersBytesMax else {
            throw .incompleteSignature("SignedHeaders is longer than \(SigV4Limits.signedHeadersBytesMax) bytes.")
        }
        let parts = value.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
        guard parts.count <= SigV4Limits.signedHeaderCountMax else {
            throw .incompleteSignature("SignedHeaders names more than \(SigV4Limits.signedHeaderCountMax) headers.")
        }
        var names: [String] = []
        names.reserveCapacity(parts.count)
        for part in parts {
            guard !part.isEmpty, part.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                throw .incompleteSignature("SignedHeaders '\(SigV4Error.quoted(value))' is malformed.")
            }
            let name = String(decoding: part.map(SigV4ASCII.lowercased), as: UTF8.self)
            guard !names.contains(name) else {
                throw .incompleteSignature("SignedHeaders names '\(name)' more than once.")
            }
            names.append(name)
        }
        guard names.contains("host") else {
            throw .incompleteSignature("'Host' must be a 'SignedHeader' in the AWS Authorization.")
        }
        return names
    }

    /// Whether a form-encoded body carries `X-Amz-Signature` or `X-Amz-Algorithm` as a parameter
    /// name (only looked for when the request has no other signature, to explain the refusal).
    private static func bodyHasSignatureParameters(_ request: SigV4Request) -> Bool {
        let names = [Array("X-Amz-Signature=".utf8), Array("X-Amz-Algorithm=".utf8)]
        let body = request.body
        var pairStart = body.startIndex
        while pairStart < body.endIndex {
            let rest = body[pairStart...]
            if names.contains(where: { rest.starts(with: $0) }) { return true }
            guard let ampersand = rest.firstIndex(of: UInt8(ascii: "&")) else { return false }
            pairStart = ampersand + 1
        }
        return false
    }
}
