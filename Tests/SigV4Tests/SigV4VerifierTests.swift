import Testing

@testable import SigV4

/// The verifier as a whole: errors, the Date header, the signing-key cache, concurrent use.
@Suite("SigV4 verifier")
struct SigV4VerifierTests {
    @Test("each error code has AWS's HTTP status")
    func statuses() {
        #expect(SigV4Error.missingAuthenticationToken().httpStatus == 403)
        #expect(SigV4Error.invalidClientTokenId().httpStatus == 403)
        #expect(SigV4Error.signatureDoesNotMatch().httpStatus == 403)
        #expect(SigV4Error.incompleteSignature("x").httpStatus == 400)
        #expect(SigV4Error.requestExpired("x").httpStatus == 400)
        #expect(SigV4Error.Code.signatureDoesNotMatch.rawValue == "SignatureDoesNotMatch")
        #expect(
            SigV4Error.signatureDoesNotMatch().message
                == "The request signature we calculated does not match the signature you provided. Check your AWS "
                + "Secret Access Key and signing method. Consult the service documentation for details.")
    }

    @Test("a request timed by the Date header expires like one timed by X-Amz-Date")
    func dateHeader() {
        let fixture = SigV4Fixture.named("query-post-date-header")
        #expect(fixture.request.header("X-Amz-Date") == nil)
        #expect(fixture.verifier.verify(fixture.request, nowSeconds: fixture.nowSeconds + 899).sigV4Code == nil)
        let result = fixture.verifier.verify(fixture.request, nowSeconds: fixture.nowSeconds + 16 * 60)
        #expect(
            result.sigV4Failure?.message
                == "Signature expired: 20250615T102030Z is now earlier than 20250615T102130Z (20250615T103630Z - 15 min.)"
        )
        let early = fixture.verifier.verify(fixture.request, nowSeconds: fixture.nowSeconds - 16 * 60)
        #expect(
            early.sigV4Failure?.message
                == "Signature not yet current: 20250615T102030Z is still later than 20250615T101930Z "
                + "(20250615T100430Z + 15 min.)")
    }

    @Test("derived signing keys match AWS's documented example")
    func signingKeyDerivation() {
        // kSigning of the IAM guide's example is f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d;
        // the expected value is Python's hmac.new(kSigning, b"ferry", sha256).hexdigest().
        let key = SigV4SigningKey.derive(
            secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", date: "20120215", region: "us-east-1", service: "iam")
        let signature = SigV4SigningKey.signature(of: Array("ferry".utf8), signingKey: key)
        #expect(
            String(decoding: signature, as: UTF8.self)
                == "21821e39a6d17bb11cf3d9217bde1cac22835dbf59f56a718c49e03c75c125af")
    }

    @Test("the string to sign is botocore's", arguments: SigV4Fixture.botocore)
    func stringToSign(fixture: SigV4Fixture) throws {
        let lines = fixture.stringToSign.split(separator: "\n").map(String.init)
        let stringToSign = SigV4SigningKey.stringToSign(
            canonicalRequest: Array(fixture.canonicalRequest.utf8), timestamp: lines[1], scope: lines[2])
        #expect(String(decoding: stringToSign, as: UTF8.self) == fixture.stringToSign)
    }

    @Test("signing keys are cached only after a good signature, and the cache stays bounded")
    func signingKeyCache() {
        let fixture = SigV4Fixture.named("json-send-message")
        let verifier = fixture.verifier
        var wrong = fixture.request
        wrong.body.append(0x20)
        _ = verifier.verify(wrong, nowSeconds: fixture.nowSeconds)
        #expect(verifier.signingKeyCache.count == 0)
        for _ in 0..<3 {
            #expect(verifier.verify(fixture.request, nowSeconds: fixture.nowSeconds).sigV4Code == nil)
        }
        #expect(verifier.signingKeyCache.count == 1)
        let copy = verifier
        #expect(copy.verify(fixture.request, nowSeconds: fixture.nowSeconds).sigV4Code == nil)
        #expect(copy.signingKeyCache.count == 1)

        let cache = SigV4SigningKeyCache()
        for index in 0..<(SigV4Limits.signingKeyCacheEntriesMax * 2 + 7) {
            let key = SigV4SigningKey.derive(secret: "s", date: "\(index)", region: "r", service: "sqs")
            cache.store(key, for: .init(accessKeyId: "k", date: "\(index)", region: "r"))
            #expect(cache.count <= SigV4Limits.signingKeyCacheEntriesMax)
        }
    }

    @Test("one verifier serves many tasks at once")
    func concurrentUse() async {
        let verifier = SigV4Verifier(
            credentials: Dictionary(
                SigV4Fixture.botocore.filter { $0.service == "sqs" }.map { ($0.accessKeyId, $0.secret) },
                uniquingKeysWith: { first, _ in first }))
        let fixtures = SigV4Fixture.botocore.filter { $0.service == "sqs" }
        let failures = await withTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var failures = 0
                    for round in 0..<50 {
                        let fixture = fixtures[(task + round) % fixtures.count]
                        if case .failure = verifier.verify(fixture.request, nowSeconds: fixture.nowSeconds) {
                            failures += 1
                        }
                    }
                    return failures
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
    }
}
