import QueueEngine

/// How an SQS error appears on the wire: its Query `Code`, HTTP status and fault side
/// (SQS-REFERENCE.md, "Error codes"; botocore's `awsQueryError` traits).
public struct SQSErrorShape: Sendable, Equatable {
    /// The JSON 1.0 `__type` shape name (without the `com.amazonaws.sqs#` prefix).
    public var shape: String
    /// The Query protocol `Code` (also the first half of `x-amzn-query-error`).
    public var queryCode: String
    public var httpStatus: Int
    /// `Sender` for client errors, `Receiver` for server errors.
    public var fault: String

    public init(_ code: QueueError.Code) {
        shape = Self.shapeName(code)
        fault = "Sender"
        switch code {
        case .queueDoesNotExist: (queryCode, httpStatus) = ("AWS.SimpleQueueService.NonExistentQueue", 400)
        case .queueDeletedRecently: (queryCode, httpStatus) = ("AWS.SimpleQueueService.QueueDeletedRecently", 400)
        case .queueNameExists: (queryCode, httpStatus) = ("QueueAlreadyExists", 400)
        case .purgeQueueInProgress: (queryCode, httpStatus) = ("AWS.SimpleQueueService.PurgeQueueInProgress", 403)
        case .messageNotInflight: (queryCode, httpStatus) = ("AWS.SimpleQueueService.MessageNotInflight", 400)
        case .batchEntryIdsNotDistinct, .emptyBatchRequest, .invalidBatchEntryId, .tooManyEntriesInBatchRequest,
            .batchRequestTooLong, .unsupportedOperation:
            (queryCode, httpStatus) = ("AWS.SimpleQueueService.\(code.rawValue)", 400)
        case .overLimit: (queryCode, httpStatus) = ("OverLimit", 403)
        case .receiptHandleIsInvalid: (queryCode, httpStatus) = ("ReceiptHandleIsInvalid", 404)
        case .resourceNotFound: (queryCode, httpStatus) = ("ResourceNotFoundException", 404)
        case .unknownOperation: (queryCode, httpStatus) = ("UnknownOperationException", 404)
        case .invalidAddress: (queryCode, httpStatus) = ("InvalidAddress", 404)
        case .invalidSecurity, .requestThrottled, .invalidClientTokenId, .missingAuthenticationToken,
            .signatureDoesNotMatch, .accessDenied:
            (queryCode, httpStatus) = (code.rawValue, 403)
        case .internalFailure:
            (queryCode, httpStatus) = ("InternalFailure", 500)
            fault = "Receiver"
        case .serviceUnavailable:
            (queryCode, httpStatus) = ("ServiceUnavailable", 503)
            fault = "Receiver"
        case .invalidAttributeName, .invalidAttributeValue, .invalidMessageContents, .invalidIdFormat,
            .invalidParameterValue, .missingParameter, .invalidAction, .missingAction, .invalidParameterCombination,
            .incompleteSignature, .requestExpired:
            (queryCode, httpStatus) = (code.rawValue, 400)
        }
    }

    /// The JSON `__type` shape: the modeled exception (botocore's SQS model names it after the code, with
    /// the Query code in its `awsQueryError` trait), or for the generic validation errors, which the model
    /// does not list, the exception name AWS sends (recorded: an empty MessageBody is answered
    /// `MissingRequiredParameterException` with `x-amzn-query-error: MissingParameter;Sender`).
    static func shapeName(_ code: QueueError.Code) -> String {
        switch code {
        case .missingParameter: "MissingRequiredParameterException"
        case .invalidParameterValue: "InvalidParameterValueException"
        default: code.rawValue
        }
    }

    /// The JSON 1.0 `__type` value.
    public var jsonType: String { "com.amazonaws.sqs#\(shape)" }

    /// The `x-amzn-query-error` header value: `Code;Fault`.
    public var queryErrorHeader: String { "\(queryCode);\(fault)" }
}
