import Foundation
import HTTPTypes
import HummingbirdCore
import NIOCore
import QueueEngine
import Testing

@testable import SQSFrontend

@Suite("Error shapes for every SQS error code")
struct ErrorShapeTests {
    @Test(arguments: QueueError.Code.allCases)
    func bothProtocolsRenderTheShape(code: QueueError.Code) throws {
        let shape = SQSErrorShape(code)
        let error = QueueError(code, "message for \(code.rawValue) & <friends>")
        let json = WireProtocol.json.error(error, action: nil, requestId: "rid")
        #expect(json.status.code == shape.httpStatus)
        #expect(json.headers[WireProtocol.queryErrorHeader] == "\(shape.queryCode);\(shape.fault)")
        #expect(json.headers[WireProtocol.requestIdHeader] == "rid")
        let xml = WireProtocol.query.error(error, action: nil, requestId: "rid")
        #expect(xml.status.code == shape.httpStatus)
        #expect(xml.headers[WireProtocol.requestIdHeader] == "rid")
        #expect(shape.fault == (shape.httpStatus >= 500 ? "Receiver" : "Sender"))
    }

    @Test func statusesMatchTheReference() {
        let expected: [QueueError.Code: (String, Int)] = [
            .queueDoesNotExist: ("AWS.SimpleQueueService.NonExistentQueue", 400),
            .queueDeletedRecently: ("AWS.SimpleQueueService.QueueDeletedRecently", 400),
            .queueNameExists: ("QueueAlreadyExists", 400),
            .purgeQueueInProgress: ("AWS.SimpleQueueService.PurgeQueueInProgress", 403),
            .messageNotInflight: ("AWS.SimpleQueueService.MessageNotInflight", 400),
            .batchEntryIdsNotDistinct: ("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400),
            .emptyBatchRequest: ("AWS.SimpleQueueService.EmptyBatchRequest", 400),
            .invalidBatchEntryId: ("AWS.SimpleQueueService.InvalidBatchEntryId", 400),
            .tooManyEntriesInBatchRequest: ("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400),
            .batchRequestTooLong: ("AWS.SimpleQueueService.BatchRequestTooLong", 400),
            .unsupportedOperation: ("AWS.SimpleQueueService.UnsupportedOperation", 400),
            .overLimit: ("OverLimit", 403), .receiptHandleIsInvalid: ("ReceiptHandleIsInvalid", 404),
            .resourceNotFound: ("ResourceNotFoundException", 404), .invalidAddress: ("InvalidAddress", 404),
            .invalidSecurity: ("InvalidSecurity", 403), .requestThrottled: ("RequestThrottled", 403),
            .invalidAttributeName: ("InvalidAttributeName", 400),
            .invalidMessageContents: ("InvalidMessageContents", 400),
            .missingParameter: ("MissingParameter", 400), .invalidClientTokenId: ("InvalidClientTokenId", 403),
            .signatureDoesNotMatch: ("SignatureDoesNotMatch", 403), .incompleteSignature: ("IncompleteSignature", 400),
            .requestExpired: ("RequestExpired", 400), .internalFailure: ("InternalFailure", 500),
            .serviceUnavailable: ("ServiceUnavailable", 503),
        ]
        for (code, (queryCode, status)) in expected {
            let shape = SQSErrorShape(code)
            #expect(shape.queryCode == queryCode, "\(code)")
            #expect(shape.httpStatus == status, "\(code)")
            #expect(shape.jsonType == "com.amazonaws.sqs#\(SQSErrorShape.shapeName(code))")
        }
    }

    /// The generic validation errors, which botocore's SQS model does not list, carry AWS's exception name
    /// as `__type` and the Query code in `x-amzn-query-error`; modeled errors carry their shape name.
    @Test func genericValidationErrorsCarryTheExceptionName() {
        let cases: [(QueueError.Code, String, String)] = [
            (.missingParameter, "MissingRequiredParameterException", "MissingParameter;Sender"),
            (.invalidParameterValue, "InvalidParameterValueException", "InvalidParameterValue;Sender"),
            (.queueDoesNotExist, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue;Sender"),
            (.invalidAttributeName, "InvalidAttributeName", "InvalidAttributeName;Sender"),
        ]
        for (code, type, header) in cases {
            let shape = SQSErrorShape(code)
            #expect(shape.jsonType == "com.amazonaws.sqs#\(type)")
            #expect(shape.queryErrorHeader == header)
        }
    }
}
