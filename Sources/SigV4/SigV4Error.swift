/// Why a request failed SigV4 verification, as SQS reports it: a common AWS error code, its
/// message and its HTTP status (AWS CommonErrors page; SQS-REFERENCE.md section 2).
public struct SigV4Error: Error, Sendable, Equatable {
    /// The AWS error code, spelled as it goes on the wire (`Code` element or `__type`).
    public enum Code: String, Sendable {
        /// No `Authorization` header and no presigned query parameters. HTTP 403.
        case missingAuthenticationToken = "MissingAuthenticationToken"
        /// The signature information is malformed or incomplete. HTTP 400.
        case incompleteSignature = "IncompleteSignature"
        /// The access key id is not known. HTTP 403.
        case invalidClientTokenId = "InvalidClientTokenId"
        /// The signature, credential scope or payload hash does not match. HTTP 403.
        case signatureDoesNotMatch = "SignatureDoesNotMatch"
        /// The request time is too far from the server's clock, or a presigned request expired. HTTP 400.
        case requestExpired = "RequestExpired"
    }

    /// The AWS error code.
    public var code: Code
    /// A message for the client, in AWS's wording where known.
    public var message: String
    /// The HTTP status AWS answers with for `code`.
    public var httpStatus: Int

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
        switch code {
        case .missingAuthenticationToken, .invalidClientTokenId, .signatureDoesNotMatch:
            self.httpStatus = 403
        case .incompleteSignature, .requestExpired:
            self.httpStatus = 400
        }
    }

    static func missingAuthenticationToken() -> SigV4Error {
        SigV4Error(.missingAuthenticationToken, "Request is missing Authentication Token")
    }

    static func incompleteSignature(_ message: String) -> SigV4Error {
        SigV4Error(.incompleteSignature, message)
    }

    static func invalidClientTokenId() -> SigV4Error {
        SigV4Error(.invalidClientTokenId, "The security token included in the request is invalid.")
    }

    static func signatureDoesNotMatch(
        _ message: String = "The request signature we calculated does not match the signature you provided. "
            + "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    ) -> SigV4Error {
        SigV4Error(.signatureDoesNotMatch, message)
    }

    static func requestExpired(_ message: String) -> SigV4Error {
        SigV4Error(.requestExpired, message)
    }

    /// Client-supplied text shortened for quoting in a message, so an error stays small.
    static func quoted(_ bytes: some Collection<UInt8>) -> String {
        let prefix = bytes.prefix(SigV4Limits.quotedTextBytesMax)
        let text = String(decoding: prefix, as: UTF8.self)
        return bytes.count > prefix.count ? text + "..." : text
    }
}
