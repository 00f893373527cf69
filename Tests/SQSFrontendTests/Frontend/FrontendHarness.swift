import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SQSWire

@testable import SQSFrontend

/// Runs an in-process Ferry endpoint and speaks both SQS protocols to it.
enum FrontendHarness {
    static func withServer(
        credentials: [String: String] = [:], _ body: @Sendable @escaping (any TestClientProtocol) async throws -> Void
    ) async throws {
        var configuration = SQSServerConfiguration(receiptHandleKey: Array(repeating: 3, count: 32))
        configuration.credentials = credentials
        configuration.port = 0
        let app = try SQSServer.makeApplication(configuration, logger: Logger(label: "test"))
        try await app.test(.router) { client in try await body(client) }
    }

    static let target = HTTPField.Name("X-Amz-Target")!
    static let queryError = HTTPField.Name("x-amzn-query-error")!
    static let requestId = HTTPField.Name("x-amzn-RequestId")!

    /// Sends an AWS JSON 1.0 request.
    static func json(_ client: any TestClientProtocol, _ action: String, _ body: String) async throws -> TestResponse {
        try await client.execute(
            uri: "/", method: .post,
            headers: [.contentType: "application/x-amz-json-1.0", target: "AmazonSQS.\(action)"],
            body: ByteBuffer(string: body))
    }

    /// Sends an AWS Query request as a form POST to `path`.
    static func query(_ client: any TestClientProtocol, _ form: String, path: String = "/") async throws -> TestResponse
    {
        try await client.execute(
            uri: path, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: form))
    }

    static func object(_ response: TestResponse) throws -> WireObject {
        guard case .object(let object) = try JSONWireDecoder.decode(Array(response.body.readableBytesView)) else {
            throw WireDecodingError(message: "not an object")
        }
        return object
    }

    static func text(_ response: TestResponse) -> String {
        String(buffer: response.body)
    }
}
