import Testing

@testable import SigV4

/// Changing any signed byte of a botocore-signed request must break its signature: every flipped
/// byte either leaves the canonical request the same (a normalisation, e.g. `.` to `/` in
/// `/a/./b`), and verifies, or changes it and fails.
@Suite("SigV4 tampering")
struct SigV4TamperingTests {
    /// Flips the lowest bit of byte `index` of `text` (ASCII text only).
    static func flipping(_ text: String, at index: Int) -> String {
        var bytes = Array(text.utf8)
        bytes[index] ^= 0x01
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Verifies `tampered` and checks it against the original canonical request.
    static func expectBroken(_ fixture: SigV4Fixture, _ tampered: SigV4Request, _ what: String) {
        let result = fixture.verifier.verify(tampered, nowSeconds: fixture.nowSeconds)
        let canonical = try? fixture.verifier.canonicalRequest(of: tampered)
        if canonical == fixture.canonicalRequest {
            #expect(result.sigV4Code == nil, "\(what): same canonical request must verify")
        } else {
            #expect(result.sigV4Code == .signatureDoesNotMatch, "\(what)")
        }
    }

    @Test("flipping any body byte does not match", arguments: SigV4Fixture.botocore.filter { !$0.bodyHex.isEmpty })
    func body(fixture: SigV4Fixture) {
        let original = fixture.request
        for index in original.body.indices {
            var tampered = original
            tampered.body[index] ^= 0x01
            #expect(
                fixture.verifier.verify(tampered, nowSeconds: fixture.nowSeconds).sigV4Code == .signatureDoesNotMatch)
        }
        var longer = original
        longer.body.append(0x20)
        #expect(fixture.verifier.verify(longer, nowSeconds: fixture.nowSeconds).sigV4Code == .signatureDoesNotMatch)
    }

    @Test("flipping any byte of a signed header value does not match", arguments: SigV4Fixture.botocore)
    func signedHeaders(fixture: SigV4Fixture) throws {
        let original = fixture.request
        let signedLine = try #require(
            fixture.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)
                .dropLast().last)
        let signed = Set(signedLine.split(separator: ";").map(String.init))
        for (headerIndex, header) in original.headers.enumerated() {
            let name = header.name.lowercased()
            guard name != "authorization" else { continue }
            for index in 0..<header.value.utf8.count {
                var tampered = original
                tampered.headers[headerIndex].value = Self.flipping(header.value, at: index)
                let result = fixture.verifier.verify(tampered, nowSeconds: fixture.nowSeconds)
                if !signed.contains(name) {
                    #expect(result.sigV4Code == nil, "unsigned \(name) is not covered")
                } else if name == "x-amz-date" || name == "date" {
                    #expect(result.sigV4Code != nil, "\(name) byte \(index)")
                } else {
                    Self.expectBroken(fixture, tampered, "\(name) byte \(index)")
                }
            }
        }
    }

    @Test("flipping any byte of the signature does not match", arguments: SigV4Fixture.botocore)
    func signature(fixture: SigV4Fixture) throws {
        let original = fixture.request
        if let authorization = original.header("Authorization") {
            let start = try #require(authorization.firstRange(of: "Signature=")).upperBound
            let offset = authorization.utf8.distance(from: authorization.startIndex, to: start)
            for index in offset..<authorization.utf8.count {
                let tampered = original.replacingHeader("Authorization", with: Self.flipping(authorization, at: index))
                #expect(
                    fixture.verifier.verify(tampered, nowSeconds: fixture.nowSeconds).sigV4Code
                        == .signatureDoesNotMatch)
            }
        } else {
            let start = try #require(original.rawQuery.firstRange(of: "X-Amz-Signature=")).upperBound
            let offset = original.rawQuery.utf8.distance(from: original.rawQuery.startIndex, to: start)
            for index in offset..<original.rawQuery.utf8.count {
                var tampered = original
                tampered.rawQuery = Self.flipping(original.rawQuery, at: index)
                #expect(
                    fixture.verifier.verify(tampered, nowSeconds: fixture.nowSeconds).sigV4Code
                        == .signatureDoesNotMatch)
            }
        }
    }

    @Test(
        "flipping any byte of the path, or of the query of a header-signed request, does not match",
        arguments: SigV4Fixture.botocore)
    func pathAndQuery(fixture: SigV4Fixture) {
        let original = fixture.request
        for index in 0..<original.rawPath.utf8.count {
            var tampered = original
            tampered.rawPath = Self.flipping(original.rawPath, at: index)
            Self.expectBroken(fixture, tampered, "path byte \(index)")
        }
        guard !fixture.isPresigned else { return }
        for index in 0..<original.rawQuery.utf8.count {
            var tampered = original
            tampered.rawQuery = Self.flipping(original.rawQuery, at: index)
            Self.expectBroken(fixture, tampered, "query byte \(index)")
        }
        var method = original
        method.method = original.method == "GET" ? "POST" : "GET"
        #expect(fixture.verifier.verify(method, nowSeconds: fixture.nowSeconds).sigV4Code == .signatureDoesNotMatch)
    }

    @Test("a presigned request's non-signature parameters are signed too", arguments: SigV4Fixture.presigned)
    func presignedParameters(fixture: SigV4Fixture) {
        let original = fixture.request
        for extra in ["&Extra=1", "&Action=DeleteQueue"] {
            var tampered = original
            tampered.rawQuery += extra
            #expect(
                fixture.verifier.verify(tampered, nowSeconds: fixture.nowSeconds).sigV4Code == .signatureDoesNotMatch)
        }
        var swapped = original
        swapped.rawQuery = original.rawQuery.replacing("Action=", with: "Actiom=")
        #expect(fixture.verifier.verify(swapped, nowSeconds: fixture.nowSeconds).sigV4Code == .signatureDoesNotMatch)
    }

    @Test(
        "every truncation of a real Authorization header is refused without a crash",
        arguments: SigV4Fixture.headerSigned)
    func truncatedAuthorization(fixture: SigV4Fixture) throws {
        let authorization = try #require(fixture.request.header("Authorization"))
        for length in 0..<authorization.utf8.count {
            let truncated = String(decoding: Array(authorization.utf8)[..<length], as: UTF8.self)
            let request = fixture.request.replacingHeader("Authorization", with: truncated)
            let code = fixture.verifier.verify(request, nowSeconds: fixture.nowSeconds).sigV4Code
            #expect(code == .incompleteSignature || code == .signatureDoesNotMatch, "length \(length): \(truncated)")
        }
    }
}
