/// A failure of a queue operation, named by its Amazon SQS error shape.
///
/// The frontend maps each code to the wire: the JSON `__type`, the Query `Code` and the HTTP status
/// (SQS-REFERENCE.md, "Error codes"). Kept as a struct wrapping a code so new codes break nobody.
public struct QueueError: Error, Sendable, Equatable, Hashable, Codable {
    /// The SQS error shape.
    public var code: Code
    /// A message for the person reading the response, in AWS's wording where it is known.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// SQS error shapes (modeled ones and the common unmodeled ones Ferry uses).
    public enum Code: String, Sendable, Equatable, Hashable, Codable, CaseIterable {
        case queueDoesNotExist = "QueueDoesNotExist"
        case queueDeletedRecently = "QueueDeletedRecently"
        case queueNameExists = "QueueNameExists"
        case purgeQueueInProgress = "PurgeQueueInProgress"
        case messageNotInflight = "MessageNotInflight"
        case batchEntryIdsNotDistinct = "BatchEntryIdsNotDistinct"
        case emptyBatchRequest = "EmptyBatchRequest"
        case invalidBatchEntryId = "InvalidBatchEntryId"
        case tooManyEntriesInBatchRequest = "TooManyEntriesInBatchRequest"
        case batchRequestTooLong = "BatchRequestTooLong"
        case unsupportedOperation = "UnsupportedOperation"
        case overLimit = "OverLimit"
        case receiptHandleIsInvalid = "ReceiptHandleIsInvalid"
        case resourceNotFound = "ResourceNotFoundException"
        case invalidAttributeName = "InvalidAttributeName"
        case invalidAttributeValue = "InvalidAttributeValue"
        case invalidMessageContents = "InvalidMessageContents"
        case invalidIdFormat = "InvalidIdFormat"
        case invalidParameterValue = "InvalidParameterValue"
        case missingParameter = "MissingParameter"
        case invalidAction = "InvalidAction"
        case missingAction = "MissingAction"
        /// A request to a queue URL that names no action (404, as SQS answers).
        case unknownOperation = "UnknownOperationException"
        case invalidParameterCombination = "InvalidParameterCombination"
        case invalidAddress = "InvalidAddress"
        case invalidSecurity = "InvalidSecurity"
        case requestThrottled = "RequestThrottled"
        case invalidClientTokenId = "InvalidClientTokenId"
        case missingAuthenticationToken = "MissingAuthenticationToken"
        case signatureDoesNotMatch = "SignatureDoesNotMatch"
        case incompleteSignature = "IncompleteSignature"
        case requestExpired = "RequestExpired"
        case accessDenied = "AccessDenied"
        case internalFailure = "InternalFailure"
        case serviceUnavailable = "ServiceUnavailable"
    }
}

extension QueueError {
    /// NonExistentQueue, as SQS words it.
    public static func queueDoesNotExist() -> QueueError {
        QueueError(.queueDoesNotExist, "The specified queue does not exist.")
    }

    static func invalidParameter(_ name: String, _ value: String, reason: String) -> QueueError {
        QueueError(.invalidParameterValue, "Value \(value) for parameter \(name) is invalid. Reason: \(reason)")
    }

    static func invalidAttributeValue(_ name: String) -> QueueError {
        QueueError(.invalidAttributeValue, "Invalid value for the parameter \(name).")
    }
}
