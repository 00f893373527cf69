import Testing

@testable import SigV4

/// A request signed by a real client, recorded as it went on the wire, with the client's own
/// canonical request and string to sign. The data is in SigV4BotocoreVectors.swift (generated).
struct SigV4Fixture: Sendable, CustomTestStringConvertible {
    var name: String
    var method: String
    var rawPath: String
    var rawQuery: String
    var headers: [(String, String)]
    var bodyHex: String
    var accessKeyId: String
    var secret: String
    var region: String
    var service: String
    /// The signing time as Unix epoch seconds.
    var nowSeconds: Int64
    var canonicalRequest: String
    var stringToSign: String

    var testDescription: String { name }

    var request: SigV4Request {
        SigV4Request(
            method: method,
            rawPath: rawPath,
            rawQuery: rawQuery,
            headers: headers.map { (name: $0.0, value: $0.1) },
            body: Self.bytes(hex: bodyHex))
    }

    var verifier: SigV4Verifier {
        SigV4Verifier(credentials: [accessKeyId: secret, "AKIAOTHERKEY00000000": "other-secret"], service: service)
    }

    var isPresigned: Bool { rawQuery.contains("X-Amz-Signature=") }

    /// The fixture's `X-Amz-Expires`, for presigned ones.
    var expiresSeconds: Int64? {
        rawQuery.split(separator: "&").first { $0.hasPrefix("X-Amz-Expires=") }
            .flatMap { Int64($0.dropFirst("X-Amz-Expires=".count)) }
    }

    static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { index in
            UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16)!
        }
    }

    /// All header-signed fixtures (Authorization header), and all presigned ones.
    static var headerSigned: [SigV4Fixture] { botocore.filter { !$0.isPresigned } }
    static var presigned: [SigV4Fixture] { botocore.filter(\.isPresigned) }
    static func named(_ name: String) -> SigV4Fixture { botocore.first { $0.name == name }! }
}

extension SigV4Request {
    /// The value of the first header named `name` (case-insensitively).
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// A copy with every header named `name` removed and, if `value` is given, one such header added.
    func replacingHeader(_ name: String, with value: String?) -> SigV4Request {
        var copy = self
        copy.headers.removeAll { $0.name.lowercased() == name.lowercased() }
        if let value { copy.headers.append((name: name, value: value)) }
        return copy
    }
}

extension Result where Failure == SigV4Error {
    /// The error, if verification failed.
    var sigV4Failure: SigV4Error? {
        if case .failure(let error) = self { return error }
        return nil
    }

    /// The error code, if verification failed.
    var sigV4Code: SigV4Error.Code? { sigV4Failure?.code }
}
