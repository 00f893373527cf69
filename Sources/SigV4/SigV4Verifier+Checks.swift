import Crypto

extension SigV4Verifier {
    static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// Refuses a request whose time is more than `clockSkewSecondsMax` from `nowSeconds` (AWS
    /// CommonErrors `RequestExpired`), or a presigned one past `X-Amz-Date` + `X-Amz-Expires`.
    static func checkTime(of authorization: SigV4Authorization, nowSeconds: Int64) throws(SigV4Error) {
        let timestamp = authorization.timestamp
        let (age, overflow) = nowSeconds.subtractingReportingOverflow(timestamp.epochSeconds)
        let minutes = clockSkewSecondsMax / 60
        func format(_ seconds: Int64) -> String { SigV4Timestamp.formatBasic(epochSeconds: seconds) }
        if overflow ? nowSeconds < timestamp.epochSeconds : age < -clockSkewSecondsMax {
            throw .requestExpired(
                "Signature not yet current: \(timestamp.basic) is still later than "
                    + "\(format(saturatingSum(nowSeconds, clockSkewSecondsMax))) (\(format(nowSeconds)) + \(minutes) min.)"
            )
        }
        if let expiresSeconds = authorization.expiresSeconds {
            if overflow || age > expiresSeconds {
                throw .requestExpired(
                    "Request has expired: X-Amz-Date \(timestamp.basic) plus X-Amz-Expires \(expiresSeconds) seconds "
                        + "is earlier than the server time \(format(nowSeconds)).")
            }
        } else if overflow || age > clockSkewSecondsMax {
            throw .requestExpired(
                "Signature expired: \(timestamp.basic) is now earlier than "
                    + "\(format(saturatingSum(nowSeconds, -clockSkewSecondsMax))) (\(format(nowSeconds)) - \(minutes) min.)"
            )
        }
    }

    private static func saturatingSum(_ left: Int64, _ right: Int64) -> Int64 {
        let (sum, overflow) = left.addingReportingOverflow(right)
        return overflow ? (right > 0 ? .max : .min) : sum
    }

    /// Refuses a credential scope for another service, or whose date is not the request's date
    /// (IAM guide "Handling dates in Signature Version 4"). AWS answers both with
    /// `SignatureDoesNotMatch` and these messages.
    func checkScope(of authorization: SigV4Authorization) throws(SigV4Error) {
        let scope = authorization.scope
        guard scope.service == service else {
            throw .signatureDoesNotMatch("Credential should be scoped to correct service: '\(service)'. ")
        }
        let timestamp = authorization.timestamp
        guard scope.date == timestamp.date else {
            throw .signatureDoesNotMatch(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                    + "'\(scope.date)' != '\(timestamp.date)', from '\(timestamp.basic)'.")
        }
    }

    /// The payload hashes to try, in order. Normally one: hex SHA-256 of the body. A client that sends
    /// `X-Amz-Content-Sha256` signs that value (as botocore does); it must then be the body's real
    /// hash, so `UNSIGNED-PAYLOAD` and streaming forms are refused. A presigned request with an empty
    /// body may also have been signed with `UNSIGNED-PAYLOAD` (S3-style presigners), so that is tried second.
    static func payloadHashes(
        of request: SigV4Request, authorization: SigV4Authorization
    ) throws(SigV4Error) -> [String] {
        let bodyHash = SigV4Hex.encode(SHA256.hash(data: request.body))
        let declared = request.headerValues(named: "x-amz-content-sha256")
        if !declared.isEmpty {
            guard declared.count == 1, SigV4Hex.constantTimeEquals(bodyHash, declared[0].utf8) else {
                throw .signatureDoesNotMatch(
                    "The x-amz-content-sha256 header does not match the SHA-256 of the request body; "
                        + "SQS requests must sign their payload.")
            }
            return declared
        }
        let bodyHashText = String(decoding: bodyHash, as: UTF8.self)
        if authorization.location == .queryString, request.body.isEmpty {
            return [bodyHashText, unsignedPayload]
        }
        return [bodyHashText]
    }
}
