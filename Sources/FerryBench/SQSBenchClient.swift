import SQSWire
import SigV4

/// An SQS call that failed: the AWS error code (or a transport description).
public struct SQSCallError: Error, CustomStringConvertible {
    public var code: String
    public var message: String
    /// The HTTP status of the answer (0: no answer was read).
    public var status = 0
    public var description: String { "\(code): \(message)" }
}

/// The SQS calls the load generator makes, as AWS JSON 1.0 requests signed with SigV4.
public struct SQSBenchClient {
    public let connection: SQSConnection
    let signer: SigV4Signer
    let keyMemo = SigV4SigningKeyMemo()

    public init(connection: SQSConnection, signer: SigV4Signer) {
        self.connection = connection
        self.signer = signer
    }

    /// Calls `action` with a JSON `body`; returns the decoded result object or throws the AWS error. With a
    /// `timeout`, a call not answered in time closes the connection and throws.
    public func call(_ action: String, _ body: [UInt8], timeout: Duration? = nil) async throws -> WireObject {
        let headers = try Self.signedHeaders(
            action: action, body: body, authority: connection.endpoint.authority, signer: signer, keyMemo: keyMemo)
        let response = try await connection.post(headers: headers, body: body, timeout: timeout)
        return try Self.result(of: action, response)
    }

    /// The headers of an AWS JSON 1.0 call of `action`, signed now.
    static func signedHeaders(
        action: String, body: [UInt8], authority: String, signer: SigV4Signer, keyMemo: SigV4SigningKeyMemo
    ) throws -> [(name: String, value: String)] {
        var request = SigV4Request(
            method: "POST", rawPath: "/", rawQuery: "",
            headers: [
                (name: "host", value: authority),
                (name: "content-type", value: "application/x-amz-json-1.0"),
                (name: "x-amz-target", value: "AmazonSQS.\(action)"),
            ], body: body)
        try signer.sign(&request, epochSeconds: WallTime.epochSeconds(), keyCache: keyMemo)
        return request.headers
    }

    /// The result object of a call's response, or the AWS error it carries.
    static func result(of action: String, _ response: SQSConnection.Response) throws(SQSCallError) -> WireObject {
        let decoded = try? JSONWireDecoder.decode(response.body)
        guard response.status == 200 else {
            let object = decoded?.objectValue
            let type = object?["__type"]?.stringValue.map { String($0.split(separator: "#").last ?? "") }
            let code =
                response.queryError.map { String($0.split(separator: ";").first ?? "") } ?? type
                ?? "HTTP\(response.status)"
            throw SQSCallError(
                code: code, message: object?["message"]?.stringValue ?? "HTTP status \(response.status)",
                status: response.status)
        }
        guard case .object(let object)? = decoded else {
            throw SQSCallError(code: "MalformedResponse", message: "the \(action) response is not a JSON object")
        }
        return object
    }
}

/// Builds JSON request bodies without an intermediate tree (the hot path).
public struct JSONBody {
    public internal(set) var bytes: [UInt8] = []

    public init(capacity: Int) { bytes.reserveCapacity(capacity) }

    public mutating func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// Appends a JSON string literal.
    public mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            bytes.append(contentsOf: text.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0..<0x20:
                bytes.append(contentsOf: Array("\\u00".utf8))
                let digits = Array("0123456789abcdef".utf8)
                bytes.append(digits[Int(byte >> 4)])
                bytes.append(digits[Int(byte & 0x0f)])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
