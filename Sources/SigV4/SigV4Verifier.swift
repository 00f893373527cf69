import Crypto

/// Verifies AWS Signature Version 4 on SQS requests, signed either with an `Authorization` header
/// or as a presigned URL (SQS-REFERENCE.md section 2; IAM guide "Create a signed AWS API request").
///
/// Pure: it reads no clock and does no I/O; the caller passes the server's time. Checks, in order:
/// signature information present (`MissingAuthenticationToken`) and well formed
/// (`IncompleteSignature`), access key known (`InvalidClientTokenId`), time within
/// `clockSkewSecondsMax` or the presigned `X-Amz-Expires` (`RequestExpired`), credential scope
/// naming this service and the request's date, and the signature itself (`SignatureDoesNotMatch`).
/// Copies share one small cache of derived signing keys; the type is safe to use from many threads.
public struct SigV4Verifier: Sendable {
    /// How far the request time may be from the server's clock, either way: 15 minutes, as AWS allows.
    public static let clockSkewSecondsMax: Int64 = 900

    let credentials: [String: String]
    let service: String
    let signingKeyCache = SigV4SigningKeyCache()

    /// Creates a verifier.
    /// - Parameters:
    ///   - credentials: secret access key by access key id.
    ///   - service: the service name the credential scope must carry; `"sqs"` by default.
    public init(credentials: [String: String], service: String = "sqs") {
        self.credentials = credentials
        self.service = service
    }

    /// Verifies the SigV4 signature of `request`.
    /// - Parameters:
    ///   - request: the request as received, body included.
    ///   - nowSeconds: the server's clock as Unix epoch seconds (passed in; the verifier reads no clock).
    /// - Returns: who signed the request, or why it is refused.
    public func verify(_ request: SigV4Request, nowSeconds: Int64) -> Result<SigV4Identity, SigV4Error> {
        do {
            return .success(try check(request, nowSeconds: nowSeconds))
        } catch {
            return .failure(error)
        }
    }

    func check(_ request: SigV4Request, nowSeconds: Int64) throws(SigV4Error) -> SigV4Identity {
        let queryParameters = try SigV4QueryString.parse(request.rawQuery)
        let authorization = try SigV4Authorization(of: request, queryParameters: queryParameters)
        let scope = authorization.scope
        guard let secret = credentials[scope.accessKeyId] else { throw .invalidClientTokenId() }
        try Self.checkTime(of: authorization, nowSeconds: nowSeconds)
        try checkScope(of: authorization)
        let canonicalPrefix = try canonicalRequestWithoutPayloadHash(
            request, authorization: authorization, queryParameters: queryParameters)
        let payloadHashes = try Self.payloadHashes(of: request, authorization: authorization)

        let cacheKey = SigV4SigningKeyCache.Key(accessKeyId: scope.accessKeyId, date: scope.date, region: scope.region)
        let cachedSigningKey = signingKeyCache.signingKey(for: cacheKey)
        let signingKey =
            cachedSigningKey
            ?? SigV4SigningKey.derive(secret: secret, date: scope.date, region: scope.region, service: scope.service)
        for payloadHash in payloadHashes {
            let stringToSign = SigV4SigningKey.stringToSign(
                canonicalRequest: canonicalPrefix + payloadHash.utf8,
                timestamp: authorization.timestamp.basic,
                scope: scope.stringToSignScope)
            let expected = SigV4SigningKey.signature(of: stringToSign, signingKey: signingKey)
            if SigV4Hex.constantTimeEquals(expected, authorization.signature) {
                if cachedSigningKey == nil { signingKeyCache.store(signingKey, for: cacheKey) }
                return SigV4Identity(accessKeyId: scope.accessKeyId, region: scope.region)
            }
        }
        throw .signatureDoesNotMatch()
    }

    /// The canonical request the verifier computes for `request` with its first payload hash, as
    /// text (for tests and diagnostics).
    func canonicalRequest(of request: SigV4Request) throws(SigV4Error) -> String {
        let queryParameters = try SigV4QueryString.parse(request.rawQuery)
        let authorization = try SigV4Authorization(of: request, queryParameters: queryParameters)
        let prefix = try canonicalRequestWithoutPayloadHash(
            request, authorization: authorization, queryParameters: queryParameters)
        let payloadHash = try Self.payloadHashes(of: request, authorization: authorization)[0]
        return String(decoding: prefix + payloadHash.utf8, as: UTF8.self)
    }

    private func canonicalRequestWithoutPayloadHash(
        _ request: SigV4Request,
        authorization: SigV4Authorization,
        queryParameters: [SigV4QueryParameter]
    ) throws(SigV4Error) -> [UInt8] {
        let excluded = authorization.location == .queryString ? Array("X-Amz-Signature".utf8) : nil
        return SigV4CanonicalRequest.assembleWithoutPayloadHash(
            method: request.method,
            uri: try SigV4CanonicalRequest.uri(rawPath: request.rawPath),
            query: SigV4QueryString.canonical(queryParameters, excluding: excluded),
            headers: try SigV4CanonicalRequest.headers(
                of: request, signedHeaderNames: authorization.signedHeaderNames),
            signedHeaderNames: authorization.signedHeaderNames)
    }
}
