import Testing

@testable import SigV4

/// Requests signed by botocore, the real client, verified as received on the wire.
@Suite("SigV4 botocore vectors")
struct SigV4BotocoreVectorTests {
    @Test("every vector verifies and names its signer", arguments: SigV4Fixture.botocore)
    func verifies(fixture: SigV4Fixture) {
        let result = fixture.verifier.verify(fixture.request, nowSeconds: fixture.nowSeconds)
        #expect(result == .success(SigV4Identity(accessKeyId: fixture.accessKeyId, region: fixture.region)))
    }

    @Test("the canonical request is byte for byte botocore's", arguments: SigV4Fixture.botocore)
    func canonicalRequestMatchesBotocore(fixture: SigV4Fixture) throws {
        let canonical = try fixture.verifier.canonicalRequest(of: fixture.request)
        if fixture.name == "presigned-get-unsigned-payload" {
            // Tried second, after the empty body's hash.
            #expect(String(canonical.dropLast(64)) + "UNSIGNED-PAYLOAD" == fixture.canonicalRequest)
        } else {
            #expect(canonical == fixture.canonicalRequest)
        }
    }

    @Test("a wrong secret does not match", arguments: SigV4Fixture.botocore)
    func wrongSecret(fixture: SigV4Fixture) {
        let verifier = SigV4Verifier(credentials: [fixture.accessKeyId: fixture.secret + "x"], service: fixture.service)
        #expect(verifier.verify(fixture.request, nowSeconds: fixture.nowSeconds).sigV4Code == .signatureDoesNotMatch)
    }

    @Test("an unknown access key is an invalid client token id", arguments: SigV4Fixture.botocore)
    func unknownKey(fixture: SigV4Fixture) {
        let verifier = SigV4Verifier(credentials: ["AKIAOTHERKEY00000000": fixture.secret], service: fixture.service)
        let result = verifier.verify(fixture.request, nowSeconds: fixture.nowSeconds)
        #expect(
            result
                == .failure(SigV4Error(.invalidClientTokenId, "The security token included in the request is invalid."))
        )
        #expect((try? result.get()) == nil)
    }

    @Test("without signature information the token is missing", arguments: SigV4Fixture.botocore)
    func noAuthentication(fixture: SigV4Fixture) {
        var request = fixture.request.replacingHeader("Authorization", with: nil)
        request.rawQuery = request.rawQuery.split(separator: "&").filter { !$0.hasPrefix("X-Amz-") }
            .joined(separator: "&")
        let result = fixture.verifier.verify(request, nowSeconds: fixture.nowSeconds)
        #expect(result == .failure(SigV4Error(.missingAuthenticationToken, "Request is missing Authentication Token")))
    }

    @Test("the service in the credential scope must be the verifier's", arguments: SigV4Fixture.botocore)
    func otherService(fixture: SigV4Fixture) throws {
        let verifier = SigV4Verifier(credentials: [fixture.accessKeyId: fixture.secret], service: "sns")
        let result = verifier.verify(fixture.request, nowSeconds: fixture.nowSeconds)
        let error = try #require(result.sigV4Failure)
        #expect(error.code == .signatureDoesNotMatch)
        #expect(error.message == "Credential should be scoped to correct service: 'sns'. ")
    }

    @Test(
        "header-signed: 14 minutes of skew either way passes, 16 minutes is expired",
        arguments: SigV4Fixture.headerSigned)
    func clockSkew(fixture: SigV4Fixture) {
        let verifier = fixture.verifier
        for minutes: Int64 in [-14, 14, -15, 15] {
            #expect(verifier.verify(fixture.request, nowSeconds: fixture.nowSeconds + minutes * 60).sigV4Code == nil)
        }
        for seconds: Int64 in [-16 * 60, 16 * 60, -901, 901, .min, .max] {
            let result = verifier.verify(fixture.request, nowSeconds: fixture.nowSeconds &+ seconds)
            #expect(result.sigV4Code == .requestExpired, "skew \(seconds) s")
            #expect(result.sigV4Failure?.httpStatus == 400)
        }
    }

    @Test(
        "presigned: valid from 15 minutes before X-Amz-Date until X-Amz-Expires after",
        arguments: SigV4Fixture.presigned)
    func presignedValidity(fixture: SigV4Fixture) throws {
        let verifier = fixture.verifier
        let expires = try #require(fixture.expiresSeconds)
        for offset: Int64 in [-14 * 60, -900, 0, expires] {
            #expect(verifier.verify(fixture.request, nowSeconds: fixture.nowSeconds + offset).sigV4Code == nil)
        }
        for offset: Int64 in [-16 * 60, -901, expires + 1, Int64.max - fixture.nowSeconds] {
            let result = verifier.verify(fixture.request, nowSeconds: fixture.nowSeconds + offset)
            #expect(result.sigV4Code == .requestExpired, "offset \(offset) s")
        }
    }
}
