/// The parsed `Credential` of a signed request: `AKID/YYYYMMDD/region/service/aws4_request`.
struct SigV4CredentialScope: Equatable, Sendable {
    /// The access key id, 1 to `accessKeyIdBytesMax` bytes.
    var accessKeyId: String
    /// The scope date, 8 ASCII digits.
    var date: String
    /// The region, 1 to `regionBytesMax` bytes of `A–Z a–z 0–9 - _ .`.
    var region: String
    /// The service, 1 to `serviceBytesMax` bytes of the same characters.
    var service: String

    static let terminator = "aws4_request"
    static let malformedMessage =
        "Credential is malformed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."

    /// The scope as it appears in the string to sign: `YYYYMMDD/region/service/aws4_request`.
    var stringToSignScope: String { "\(date)/\(region)/\(service)/\(Self.terminator)" }

    /// Parses a credential value (already percent-decoded when it came from a query string).
    init(parsing credential: some Collection<UInt8>) throws(SigV4Error) {
        guard credential.count <= SigV4Limits.credentialBytesMax else {
            throw .incompleteSignature(Self.malformedMessage)
        }
        let parts = credential.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard parts.count == 5 else { throw .incompleteSignature(Self.malformedMessage) }
        let terminator = parts[4]
        guard terminator.elementsEqual(Self.terminator.utf8) else {
            throw .incompleteSignature(
                "Credential should be scoped with a valid terminator: 'aws4_request', not "
                    + "'\(SigV4Error.quoted(terminator))'.")
        }
        let key = parts[0]
        let date = parts[1]
        guard (1...SigV4Limits.accessKeyIdBytesMax).contains(key.count),
            date.count == 8, date.allSatisfy({ SigV4ASCII.digit($0) != nil }),
            Self.isName(parts[2], bytesMax: SigV4Limits.regionBytesMax),
            Self.isName(parts[3], bytesMax: SigV4Limits.serviceBytesMax)
        else { throw .incompleteSignature(Self.malformedMessage) }
        self.accessKeyId = String(decoding: key, as: UTF8.self)
        self.date = String(decoding: date, as: UTF8.self)
        self.region = String(decoding: parts[2], as: UTF8.self)
        self.service = String(decoding: parts[3], as: UTF8.self)
    }

    private static func isName(_ bytes: some Collection<UInt8>, bytesMax: Int) -> Bool {
        (1...bytesMax).contains(bytes.count)
            && bytes.allSatisfy { SigV4PercentEncoding.isUnreserved($0) && $0 != UInt8(ascii: "~") }
    }
}
