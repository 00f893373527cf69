import HTTPTypes
import Hummingbird
import NIOCore
import QueueEngine
import SQSWire

/// The two SQS wire protocols and how each writes a success or an error.
enum WireProtocol {
    /// AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.<Action>`).
    case json
    /// AWS Query: form-encoded parameters, XML responses.
    case query

    static let requestIdHeader = HTTPField.Name("x-amzn-RequestId")!
    static let queryErrorHeader = HTTPField.Name("x-amzn-query-error")!

    func success(_ result: WireObject?, action: SQSAction, requestId: String) -> Response {
        switch self {
        case .json:
            let bytes = JSONWireEncoder.encode(.object(result ?? WireObject()))
            return Self.response(
                status: 200, contentType: "application/x-amz-json-1.0", bytes: bytes, requestId: requestId)
        case .query:
            let bytes = XMLWireEncoder.encodeResponse(action: action.rawValue, result: result, requestId: requestId)
            return Self.response(status: 200, contentType: "text/xml", bytes: bytes, requestId: requestId)
        }
    }

    func error(_ error: QueueError, action: SQSAction?, requestId: String) -> Response {
        let shape = SQSErrorShape(error.code)
        switch self {
        case .json:
            let body: WireValue = .object(["__type": .string(shape.jsonType), "message": .string(error.message)])
            var response = Self.response(
                status: shape.httpStatus, contentType: "application/x-amz-json-1.0",
                bytes: JSONWireEncoder.encode(body), requestId: requestId)
            response.headers[Self.queryErrorHeader] = shape.queryErrorHeader
            return response
        case .query:
            // AWS's Query protocol words a missing queue with its API version; the JSON protocol does not.
            let message =
                error.code == .queueDoesNotExist && error.message == QueueError.queueDoesNotExist().message
                ? "The specified queue does not exist for this wsdl version." : error.message
            let bytes = XMLWireEncoder.encodeError(
                type: shape.fault, code: shape.queryCode, message: message, requestId: requestId)
            return Self.response(status: shape.httpStatus, contentType: "text/xml", bytes: bytes, requestId: requestId)
        }
    }

    private static func response(status: Int, contentType: String, bytes: [UInt8], requestId: String) -> Response {
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[requestIdHeader] = requestId
        headers[.contentLength] = String(bytes.count)
        return Response(status: .init(code: status), headers: headers, body: ResponseBody(byteBuffer: buffer))
    }
}
