import Testing

@testable import SigV4

/// Presigned requests (signature in the query string) and requests with no usable signature.
@Suite("SigV4 presigned and unsigned requests")
struct SigV4PresignedTests {
    static let fixture = SigV4Fixture.named("presigned-get")

    static func verify(query: String) -> Result<SigV4Identity, SigV4Error> {
        var request = fixture.request
        request.rawQuery = query
        return fixture.verifier.verify(request, nowSeconds: fixture.nowSeconds)
    }

    /// The fixture's query with parameter `name` replaced by `replacement` (nil removes it).
    static func query(replacing name: String, with replacement: String?) -> String {
        fixture.rawQuery.split(separator: "&").compactMap { pair in
            pair.hasPrefix(name + "=") ? replacement : String(pair)
        }.joined(separator: "&")
    }

    @Test("missing parameters are named")
    func missing() {
        let result = Self.verify(query: Self.query(replacing: "X-Amz-Signature", with: nil))
        #expect(result.sigV4Code == .incompleteSignature)
        #expect(
            result.sigV4Failure?.message
                == "AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters."
        )
        let both = Self.query(replacing: "X-Amz-Credential", with: nil)
            .replacing("X-Amz-Date=20250615T102030Z", with: "X-Amz-Date=")
        #expect(Self.verify(query: both).sigV4Failure?.message.contains("'X-Amz-Credential', 'X-Amz-Date'") == true)
    }

    @Test(
        "malformed parameters are an incomplete signature",
        arguments: [
            ("X-Amz-Expires", "X-Amz-Expires=0"), ("X-Amz-Expires", "X-Amz-Expires=604801"),
            ("X-Amz-Expires", "X-Amz-Expires=abc"), ("X-Amz-Expires", "X-Amz-Expires="),
            ("X-Amz-Expires", "X-Amz-Expires=-5"), ("X-Amz-Expires", "X-Amz-Expires=99999999999999999999999"),
            ("X-Amz-Algorithm", "X-Amz-Algorithm=AWS4-HMAC-SHA1"),
            ("X-Amz-Date", "X-Amz-Date=2025-06-15"), ("X-Amz-Date", "X-Amz-Date=1&X-Amz-Date=2"),
            ("X-Amz-SignedHeaders", "X-Amz-SignedHeaders=x-amz-date"),
            ("X-Amz-Credential", "X-Amz-Credential=AKIAFERRYTESTKEY0001%2F20250615"),
            ("X-Amz-Signature", "X-Amz-Signature=00&X-Amz-Signature=11"),
        ])
    func malformed(name: String, replacement: String) {
        #expect(Self.verify(query: Self.query(replacing: name, with: replacement)).sigV4Code == .incompleteSignature)
    }

    @Test("X-Amz-Expires is optional; without it the usual 15 minutes apply")
    func withoutExpires() {
        var request = Self.fixture.request
        request.rawQuery = Self.query(replacing: "X-Amz-Expires", with: nil)
        // Removing a signed parameter changes the canonical request, so only the time check is observable.
        #expect(
            Self.fixture.verifier.verify(request, nowSeconds: Self.fixture.nowSeconds).sigV4Code
                == .signatureDoesNotMatch)
        #expect(
            Self.fixture.verifier.verify(request, nowSeconds: Self.fixture.nowSeconds + 901).sigV4Code
                == .requestExpired)
    }

    @Test("an expired presigned request says so")
    func expiredMessage() {
        let result = Self.fixture.verifier.verify(Self.fixture.request, nowSeconds: Self.fixture.nowSeconds + 301)
        #expect(
            result.sigV4Failure?.message
                == "Request has expired: X-Amz-Date 20250615T102030Z plus X-Amz-Expires 300 seconds "
                + "is earlier than the server time 20250615T102531Z.")
    }

    @Test("the credential in the query is percent-decoded and its key looked up")
    func unknownKey() {
        let query = Self.query(
            replacing: "X-Amz-Credential",
            with: "X-Amz-Credential=AKIAUNKNOWN%2F20250615%2Fus-east-1%2Fsqs%2Faws4_request")
        #expect(Self.verify(query: query).sigV4Code == .invalidClientTokenId)
    }

    @Test("a presigned request with a body must sign the body's hash, not UNSIGNED-PAYLOAD")
    func unsignedPayloadOnlyForEmptyBody() {
        let fixture = SigV4Fixture.named("presigned-get-unsigned-payload")
        var request = fixture.request
        #expect(fixture.verifier.verify(request, nowSeconds: fixture.nowSeconds).sigV4Code == nil)
        request.body = Array("Action=DeleteQueue".utf8)
        #expect(fixture.verifier.verify(request, nowSeconds: fixture.nowSeconds).sigV4Code == .signatureDoesNotMatch)
    }

    @Test("SigV4 parameters in a form body are refused with a clear message")
    func parametersInBody() {
        let fixture = SigV4Fixture.named("query-post-root")
        var request = fixture.request.replacingHeader("Authorization", with: nil)
        request.body = Array("Action=ListQueues&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00".utf8)
        let result = fixture.verifier.verify(request, nowSeconds: fixture.nowSeconds)
        #expect(result.sigV4Code == .incompleteSignature)
        #expect(result.sigV4Failure?.message.contains("form-encoded body") == true)
        request.body = Array("Action=ListQueues&MessageBody=X-Amz-Signature%3D00".utf8)
        #expect(
            fixture.verifier.verify(request, nowSeconds: fixture.nowSeconds).sigV4Code == .missingAuthenticationToken)
    }

    @Test("oversized paths and query strings are refused before any work")
    func limits() {
        let fixture = SigV4Fixture.named("json-send-message")
        var request = fixture.request
        request.rawQuery = Array(repeating: "a=1", count: SigV4Limits.queryParameterCountMax + 1).joined(separator: "&")
        #expect(fixture.verifier.verify(request, nowSeconds: fixture.nowSeconds).sigV4Code == .incompleteSignature)
        request.rawQuery = String(repeating: "a", count: SigV4Limits.rawQueryBytesMax + 1)
        #expect(fixture.verifier.verify(request, nowSeconds: fixture.nowSeconds).sigV4Code == .incompleteSignature)
        // Empty pairs are skipped without allocating: the canonical query stays empty.
        request.rawQuery = String(repeating: "&", count: SigV4Limits.rawQueryBytesMax)
        #expect(fixture.verifier.verify(request, nowSeconds: fixture.nowSeconds).sigV4Code == nil)
        request.rawQuery = ""
        request.rawPath = "/" + String(repeating: "a", count: SigV4Limits.rawPathBytesMax)
        #expect(fixture.verifier.verify(request, nowSeconds: fixture.nowSeconds).sigV4Code == .incompleteSignature)
        request.rawPath = "/"
        request.headers.append(
            (name: "X-Big", value: String(repeating: "b", count: SigV4Limits.canonicalHeadersBytesMax)))
        request = request.replacingHeader(
            "Authorization",
            with: request.header("Authorization")!.replacing("x-amz-target,", with: "x-amz-target;x-big,"))
        #expect(fixture.verifier.verify(request, nowSeconds: fixture.nowSeconds).sigV4Code == .incompleteSignature)
    }
}
