import Crypto

/// The SigV4 signing key and signature (IAM guide "Calculate the signature"):
///
///     kDate    = HMAC("AWS4" + secret, YYYYMMDD)
///     kRegion  = HMAC(kDate, region)
///     kService = HMAC(kRegion, service)
///     kSigning = HMAC(kService, "aws4_request")
///     signature = hex(HMAC(kSigning, stringToSign))
enum SigV4SigningKey {
    /// Derives kSigning for one secret, scope date, region and service.
    static func derive(secret: String, date: String, region: String, service: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + secret).utf8))
        for part in [date, region, service, SigV4CredentialScope.terminator] {
            let code = HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)
            key = SymmetricKey(data: code)
        }
        return key
    }

    /// `AWS4-HMAC-SHA256 \n timestamp \n scope \n hex(SHA-256(canonical request))`.
    static func stringToSign(canonicalRequest: [UInt8], timestamp: String, scope: String) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(160)
        output.append(contentsOf: SigV4Authorization.algorithm.utf8)
        output.append(SigV4ASCII.newline)
        output.append(contentsOf: timestamp.utf8)
        output.append(SigV4ASCII.newline)
        output.append(contentsOf: scope.utf8)
        output.append(SigV4ASCII.newline)
        SigV4Hex.append(SHA256.hash(data: canonicalRequest), to: &output)
        return output
    }

    /// The lowercase hex signature of `stringToSign` under `signingKey`.
    static func signature(of stringToSign: [UInt8], signingKey: SymmetricKey) -> [UInt8] {
        SigV4Hex.encode(HMAC<SHA256>.authenticationCode(for: stringToSign, using: signingKey))
    }
}
