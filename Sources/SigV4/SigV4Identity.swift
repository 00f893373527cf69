/// Who signed a request that verified: the access key id and the region named in its credential scope.
public struct SigV4Identity: Sendable, Equatable {
    /// The access key id from the credential scope, known to the verifier.
    public var accessKeyId: String
    /// The region from the credential scope (the verifier accepts any well-formed region name).
    public var region: String

    /// Creates an identity.
    public init(accessKeyId: String, region: String) {
        self.accessKeyId = accessKeyId
        self.region = region
    }
}
