/// Every bound the SigV4 verifier enforces, in one place. Each keeps the work and memory of one
/// verification proportional to the request itself, with a fixed ceiling for the parts an attacker
/// controls before the signature is known to be good.
enum SigV4Limits {
    /// Longest `Authorization` header accepted. botocore's is about 250 bytes; a long SignedHeaders
    /// list stays far below this.
    static let authorizationHeaderBytesMax = 4_096
    /// Most header names a SignedHeaders list may name. botocore signs 3 to 6 for SQS.
    static let signedHeaderCountMax = 64
    /// Longest access key id. IAM allows 16 to 128 characters.
    static let accessKeyIdBytesMax = 128
    /// Longest region name in a credential scope (`us-east-1`, `ap-southeast-2`).
    static let regionBytesMax = 64
    /// Longest service name in a credential scope (`sqs`).
    static let serviceBytesMax = 64
    /// Longest Credential value: the longest key id, date, region and service with the terminator
    /// and the four `/`.
    static let credentialBytesMax = accessKeyIdBytesMax + 8 + regionBytesMax + serviceBytesMax + 12 + 4
    /// Longest SignedHeaders value.
    static let signedHeadersBytesMax = 4_096
    /// Longest Signature value looked at (a real one is 64 hex digits).
    static let signatureBytesMax = 128
    /// Longest value of `X-Amz-Date` or `Date` that is parsed.
    static let dateValueBytesMax = 64
    /// Longest raw (still percent-encoded) request path.
    static let rawPathBytesMax = 8_192
    /// Longest raw query string. SQS clients send large messages in a POST body, never a GET URL.
    static let rawQueryBytesMax = 1_048_576
    /// Most `name=value` pairs in a query string.
    static let queryParameterCountMax = 4_096
    /// Most bytes of canonical headers (`name:value\n` lines of the signed headers together).
    static let canonicalHeadersBytesMax = 65_536
    /// Longest validity a presigned request may ask for in `X-Amz-Expires`: 7 days, as AWS allows.
    static let presignExpiresSecondsMax: Int64 = 604_800
    /// Most derived signing keys kept; the cache is emptied when it would grow past this.
    static let signingKeyCacheEntriesMax = 256
    /// Most bytes of client-supplied text quoted back inside an error message.
    static let quotedTextBytesMax = 64
}
