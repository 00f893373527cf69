import Crypto

/// Signs requests with AWS Signature Version 4 (`Authorization` header), for Ferry's own clients
/// such as `ferry bench`. It computes the canonical request with the same code the verifier uses.
public struct SigV4Signer: Sendable {
    public let accessKeyId: String
    let secret: String
    public let region: String
    public let service: String

    public init(accessKeyId: String, secret: String, region: String, service: String = "sqs") {
        self.accessKeyId = accessKeyId
        self.secret = secret
        self.region = region
        self.service = service
    }

    /// Signs `request` as of `epochSeconds`: adds `x-amz-date` and `authorization` to its headers.
    /// Every header already present is signed; `host` must be among them.
    public func sign(
        _ request: inout SigV4Request, epochSeconds: Int64, keyCache: SigV4SigningKeyMemo? = nil
    ) throws(SigV4Error) {
        let timestamp = SigV4Timestamp.formatBasic(epochSeconds: epochSeconds)
        let date = String(timestamp.prefix(8))
        request.headers.append((name: "x-amz-date", value: timestamp))
        let names = Array(Set(request.headers.map { $0.name.lowercased() })).sorted()
        guard names.contains("host") else { throw .incompleteSignature("A signed request needs a host header.") }
        var canonical = SigV4CanonicalRequest.assembleWithoutPayloadHash(
            method: request.method, uri: try SigV4CanonicalRequest.uri(rawPath: request.rawPath),
            query: SigV4QueryString.canonical(try SigV4QueryString.parse(request.rawQuery), excluding: nil),
            headers: try SigV4CanonicalRequest.headers(of: request, signedHeaderNames: names), signedHeaderNames: names)
        SigV4Hex.append(SHA256.hash(data: request.body), to: &canonical)
        let scope = "\(date)/\(region)/\(service)/\(SigV4CredentialScope.terminator)"
        let key: SymmetricKey
        if let keyCache, let cached = keyCache.key, keyCache.date == date {
            key = cached
        } else {
            key = SigV4SigningKey.derive(secret: secret, date: date, region: region, service: service)
            keyCache?.date = date
            keyCache?.key = key
        }
        let stringToSign = SigV4SigningKey.stringToSign(canonicalRequest: canonical, timestamp: timestamp, scope: scope)
        let signature = String(decoding: SigV4SigningKey.signature(of: stringToSign, signingKey: key), as: UTF8.self)
        request.headers.append(
            (
                name: "authorization",
                value:
                    "\(SigV4Authorization.algorithm) Credential=\(accessKeyId)/\(scope), SignedHeaders=\(names.joined(separator: ";")), Signature=\(signature)"
            ))
    }
}

/// One caller's memory of the signing key it derived last (deriving takes four HMACs). Not shared:
/// each worker keeps its own.
public final class SigV4SigningKeyMemo {
    var date: String?
    var key: SymmetricKey?

    public init() {}
}
