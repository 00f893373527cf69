import Testing

@testable import SigV4

private let credential = "AKIAFERRYTESTKEY0001/20250615/us-east-1/sqs/aws4_request"
private let signedHeaders = "content-type;host;x-amz-date;x-amz-target"
private let signature = "c806b3546c84637f4472aebd1b03effc8a1f02f146b73eae60a337b1dfd7494a"

/// The Authorization header: the spellings SDKs produce, and every way it can be malformed.
@Suite("SigV4 Authorization header")
struct SigV4AuthorizationHeaderTests {
    static let fixture = SigV4Fixture.named("json-send-message")

    static func verify(authorization: String?, _ change: (inout SigV4Request) -> Void = { _ in })
        -> Result<SigV4Identity, SigV4Error>
    {
        var request = fixture.request.replacingHeader("Authorization", with: authorization)
        change(&request)
        return fixture.verifier.verify(request, nowSeconds: fixture.nowSeconds)
    }

    static func incompleteMessage(_ authorization: String?, _ change: (inout SigV4Request) -> Void = { _ in })
        -> String?
    {
        let result = verify(authorization: authorization, change)
        #expect(result.sigV4Code == .incompleteSignature, "\(authorization ?? "nil")")
        #expect(result.sigV4Failure?.httpStatus == 400)
        return result.sigV4Failure?.message
    }

    @Test("the fixture's own header matches the parts used here")
    func fixtureParts() {
        #expect(
            Self.fixture.request.header("Authorization")
                == "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=\(signedHeaders), "
                + "Signature=\(signature)")
    }

    @Test(
        "separators, order and case that SDKs produce all verify",
        arguments: [
            "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=\(signedHeaders), Signature=\(signature)",
            "AWS4-HMAC-SHA256 Credential=\(credential),SignedHeaders=\(signedHeaders),Signature=\(signature)",
            "AWS4-HMAC-SHA256 Credential=\(credential) SignedHeaders=\(signedHeaders) Signature=\(signature)",
            "  AWS4-HMAC-SHA256   Credential=\(credential) ,  SignedHeaders=\(signedHeaders) ,Signature=\(signature)  ",
            "AWS4-HMAC-SHA256\tCredential=\(credential),\tSignedHeaders=\(signedHeaders),\tSignature=\(signature)",
            "AWS4-HMAC-SHA256 Signature=\(signature), Credential=\(credential), SignedHeaders=\(signedHeaders)",
            "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=\(signedHeaders), Signature=\(signature.uppercased())",
            "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=Content-Type;Host;X-Amz-Date;X-Amz-Target, "
                + "Signature=\(signature)",
            "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=\(signedHeaders), Signature=\(signature), Extra=1",
        ])
    func spellings(authorization: String) {
        #expect(
            Self.verify(authorization: authorization)
                == .success(
                    SigV4Identity(
                        accessKeyId: "AKIAFERRYTESTKEY0001", region: "us-east-1")))
    }

    @Test(
        "another or no algorithm is an incomplete signature",
        arguments: [
            "", "   ", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1 Credential=\(credential), Signature=\(signature)",
            "AWS4-ECDSA-P256-SHA256 Credential=\(credential)", "AWS AKIAFERRYTESTKEY0001:c2lnbmF0dXJl",
            "Bearer token", "aws4-hmac-sha256 Credential=\(credential), SignedHeaders=host, Signature=\(signature)",
        ])
    func algorithm(authorization: String) {
        _ = Self.incompleteMessage(authorization)
    }

    @Test("missing parameters are all named, as AWS does")
    func missingParameters() {
        #expect(
            Self.incompleteMessage("AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=\(signedHeaders)")
                == "Authorization header requires 'Signature' parameter.")
        #expect(
            Self.incompleteMessage("AWS4-HMAC-SHA256 Credential=\(credential), Signature=, SignedHeaders=host")
                == "Authorization header requires 'Signature' parameter.")
        let authorization = "AWS4-HMAC-SHA256 Other=1"
        #expect(
            Self.incompleteMessage(authorization) { $0 = $0.replacingHeader("X-Amz-Date", with: nil) }
                == "Authorization header requires 'Credential' parameter. "
                + "Authorization header requires 'Signature' parameter. "
                + "Authorization header requires 'SignedHeaders' parameter. "
                + "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    }

    @Test(
        "malformed components are an incomplete signature",
        arguments: [
            "AWS4-HMAC-SHA256 Credential", "AWS4-HMAC-SHA256 Credential=\(credential), Credential=\(credential)",
            "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=\(signedHeaders), Signature=\(signature), "
                + "Signature=\(signature)",
            "AWS4-HMAC-SHA256 Credential=AKIAFERRYTESTKEY0001/20250615/us-east-1/sqs, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIAFERRYTESTKEY0001/20250615/us-east-1/sqs/aws4_request/x, SignedHeaders=host, "
                + "Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIAFERRYTESTKEY0001/20250615/us-east-1/sqs/aws4_requesT, SignedHeaders=host, "
                + "Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIAFERRYTESTKEY0001/2025061/us-east-1/sqs/aws4_request, SignedHeaders=host, "
                + "Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIAFERRYTESTKEY0001/2025O615/us-east-1/sqs/aws4_request, SignedHeaders=host, "
                + "Signature=00",
            "AWS4-HMAC-SHA256 Credential=/20250615/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIAFERRYTESTKEY0001/20250615//sqs/aws4_request, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIAFERRYTESTKEY0001/20250615/us@east/sqs/aws4_request, SignedHeaders=host, "
                + "Signature=00",
            "AWS4-HMAC-SHA256 Credential=\(String(repeating: "K", count: 129))/20250615/us-east-1/sqs/aws4_request, "
                + "SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=content-type;x-amz-date, Signature=\(signature)",
            "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=content-type;;host, Signature=\(signature)",
            "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=host;host, Signature=\(signature)",
            "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=host;Host, Signature=\(signature)",
            "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=host;x-absent, Signature=\(signature)",
            "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=host:1, Signature=\(signature)",
            "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=\((0...64).map { "h\($0)" }.joined(separator: ";"));host, "
                + "Signature=\(signature)",
            "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=\(signedHeaders), Signature=\(signature), Padding="
                + String(repeating: "x", count: 4_096),
        ])
    func malformed(authorization: String) {
        _ = Self.incompleteMessage(authorization)
    }

    @Test("host must be signed, with AWS's message")
    func hostMustBeSigned() {
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=x-amz-date, Signature=00"
        #expect(Self.incompleteMessage(authorization) == "'Host' must be a 'SignedHeader' in the AWS Authorization.")
    }

    @Test("the time must come from one well-formed X-Amz-Date or Date header")
    func requestTime() {
        let authorization = Self.fixture.request.header("Authorization")
        _ = Self.incompleteMessage(authorization) {
            $0 = $0.replacingHeader("X-Amz-Date", with: "2025-06-15T10:20:30Z")
        }
        _ = Self.incompleteMessage(authorization) { $0 = $0.replacingHeader("X-Amz-Date", with: "20250615T102030") }
        _ = Self.incompleteMessage(authorization) { $0 = $0.replacingHeader("X-Amz-Date", with: "20251315T102030Z") }
        _ = Self.incompleteMessage(authorization) { $0.headers.append((name: "x-amz-date", value: "20250615T102030Z")) }
        _ = Self.incompleteMessage(authorization) {
            $0 = $0.replacingHeader("X-Amz-Date", with: nil).replacingHeader("Date", with: "yesterday")
        }
        // A Date header alone supplies the time, but x-amz-date is signed here and now absent.
        _ = Self.incompleteMessage(authorization) {
            $0 = $0.replacingHeader("X-Amz-Date", with: nil).replacingHeader(
                "Date", with: "Sun, 15 Jun 2025 10:20:30 GMT")
        }
    }

    @Test("the credential scope's date must be the request's date")
    func scopeDate() {
        let authorization = Self.fixture.request.header("Authorization")!.replacing("/20250615/", with: "/20250614/")
        let result = Self.verify(authorization: authorization)
        #expect(result.sigV4Code == .signatureDoesNotMatch)
        #expect(
            result.sigV4Failure?.message
                == "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                + "'20250614' != '20250615', from '20250615T102030Z'.")
    }

    @Test("more than one Authorization header, or one with presigned parameters, is refused")
    func twoMechanisms() {
        let authorization = Self.fixture.request.header("Authorization")
        _ = Self.incompleteMessage(authorization) { $0.headers.append((name: "authorization", value: authorization!)) }
        _ = Self.incompleteMessage(authorization) { $0.rawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256" }
    }

    @Test("X-Amz-Content-Sha256 must be the body's real hash")
    func contentSha256() {
        let authorization = Self.fixture.request.header("Authorization")
        let bodyHash = "20fb5d970d153ccc1f685326ea0050c9ef2a4ab0a11c384df752dba13743f833"
        #expect(
            Self.verify(authorization: authorization) {
                $0.headers.append((name: "X-Amz-Content-Sha256", value: bodyHash))
            }
            .sigV4Code == nil)
        for value in ["UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", String(bodyHash.reversed()), ""] {
            let result = Self.verify(authorization: authorization) {
                $0.headers.append((name: "X-Amz-Content-Sha256", value: value))
            }
            #expect(result.sigV4Code == .signatureDoesNotMatch, "\(value)")
        }
    }

    @Test("random damage to a real header never crashes and never verifies")
    func randomDamage() {
        let original = Array(Self.fixture.request.header("Authorization")!.utf8)
        var generator = SigV4TestRandom(seed: 0x5EED_F022)
        for round in 0..<3_000 {
            var bytes = original
            for _ in 0...(round % 4) {
                let index = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 3 {
                case 0: bytes[index] = UInt8(truncatingIfNeeded: generator.next() % 0x60 + 0x20)
                case 1: bytes.remove(at: index)
                default: bytes.insert(Array(" ,=/;".utf8)[Int(generator.next() % 5)], at: index)
                }
            }
            let damaged = String(decoding: bytes, as: UTF8.self)
            let result = Self.verify(authorization: damaged)
            if case .success = result {
                // Only harmless spelling changes (separators, unknown components, case) may verify.
                let request = Self.fixture.request.replacingHeader("Authorization", with: damaged)
                let parsed = try? SigV4Authorization(header: damaged, request: request)
                #expect(parsed?.scope.accessKeyId == "AKIAFERRYTESTKEY0001", "\(damaged)")
                #expect(parsed?.signedHeaderNames.joined(separator: ";") == signedHeaders, "\(damaged)")
                #expect(parsed.map { String(decoding: $0.signature, as: UTF8.self).lowercased() } == signature)
            }
        }
    }
}

/// A small seeded generator, so a failing case can be replayed.
struct SigV4TestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
