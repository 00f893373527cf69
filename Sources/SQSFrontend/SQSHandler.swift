import Cluster
import Foundation
import QueueEngine
import SQSWire

/// Turns decoded SQS requests into engine commands and engine results into protocol-neutral responses.
public struct SQSHandler: Sendable {
    public let host: any QueueService
    public let accountId: String
    public let region: String

    public init(host: any QueueService, accountId: String, region: String) {
        self.host = host
        self.accountId = accountId
        self.region = region
    }

    /// Handles one request: its result object (nil for actions without output) or the SQS error.
    public func handle(_ request: SQSRequest) async throws(QueueError) -> WireObject? {
        let parameters = WireParameters(request.parameters)
        switch request.action {
        case .createQueue: return try await createQueue(parameters, request)
        case .getQueueUrl: return try await getQueueUrl(parameters, request)
        case .listQueues: return try await listQueues(parameters, request)
        case .deleteQueue:
            try expectDone(await host.apply(.deleteQueue(name: queueName(parameters, request))))
        case .getQueueAttributes: return try await getQueueAttributes(parameters, request)
        case .setQueueAttributes:
            let name = try queueName(parameters, request)
            let attributes = try parameters.stringMap("Attributes")
            try expectDone(await host.apply(.setQueueAttributes(name: name, attributes: attributes)))
        case .purgeQueue:
            try expectDone(await host.apply(.purgeQueue(name: queueName(parameters, request))))
        case .sendMessage: return try await sendMessage(parameters, request)
        case .sendMessageBatch: return try await sendMessageBatch(parameters, request)
        case .receiveMessage: return try await receiveMessage(parameters, request)
        case .deleteMessage:
            let name = try queueName(parameters, request)
            let entry = ReceiptEntry(receiptHandle: try parameters.requiredString("ReceiptHandle"))
            try expectAcknowledged(await host.apply(.deleteMessages(queueName: name, entries: [entry], isBatch: false)))
        case .deleteMessageBatch: return try await deleteMessageBatch(parameters, request)
        case .changeMessageVisibility:
            let name = try queueName(parameters, request)
            let entry = ReceiptEntry(
                receiptHandle: try parameters.requiredString("ReceiptHandle"),
                visibilityTimeoutSeconds: try required(parameters.integer("VisibilityTimeout"), "VisibilityTimeout"))
            try expectAcknowledged(
                await host.apply(.changeMessageVisibility(queueName: name, entries: [entry], isBatch: false)))
        case .changeMessageVisibilityBatch: return try await changeMessageVisibilityBatch(parameters, request)
        case .listDeadLetterSourceQueues: return try await listDeadLetterSourceQueues(parameters, request)
        case .startMessageMoveTask: return try await startMessageMoveTask(parameters, request)
        case .cancelMessageMoveTask: return try await cancelMessageMoveTask(parameters, request)
        case .listMessageMoveTasks: return try await listMessageMoveTasks(parameters, request)
        case .tagQueue:
            let name = try queueName(parameters, request)
            let tags = try parameters.stringMap("Tags")
            try expectDone(await host.apply(.tagQueue(name: name, tags: tags)))
        case .untagQueue:
            let name = try queueName(parameters, request)
            let keys = try parameters.stringList("TagKeys")
            try expectDone(await host.apply(.untagQueue(name: name, tagKeys: keys)))
        case .listQueueTags:
            let name = try queueName(parameters, request)
            let tags = try await host.query(.queueTags(name: name), queue: name).map
            var result = WireObject()
            if !tags.isEmpty { result["Tags"] = .stringMap(tags) }
            return result
        case .addPermission:
            let name = try queueName(parameters, request)
            let label = try parameters.requiredString("Label")
            let accounts = try parameters.stringList("AWSAccountIds")
            let actions = try parameters.stringList("Actions")
            try expectDone(
                await host.apply(.addPermission(name: name, label: label, accountIds: accounts, actions: actions)))
        case .removePermission:
            let name = try queueName(parameters, request)
            let label = try parameters.requiredString("Label")
            try expectDone(await host.apply(.removePermission(name: name, label: label)))
        }
        return nil
    }

    // MARK: Helpers

    func required<T>(_ value: T?, _ name: String) throws(QueueError) -> T {
        guard let value else { throw WireParameters.missing(name) }
        return value
    }

    func expectDone(_ result: CommandResult) throws(QueueError) {
        if case .failure(let error) = result { throw error }
    }

    func expectAcknowledged(_ result: CommandResult) throws(QueueError) {
        switch result {
        case .failure(let error): throw error
        case .acknowledged(let entries):
            if case .failure(let error) = entries.first?.outcome { throw error }
        default: break
        }
    }

    /// The account a request acts in: its access key's, or the node's own.
    func account(_ request: SQSRequest) -> String { request.account ?? accountId }

    /// The stored name (`AccountScope`) of the queue a request names: its QueueUrl's last two path segments
    /// (any host), a bare queue name given as the QueueUrl (the caller's account, as AWS accepts), or the
    /// request path. A queue of another account than the caller's does not exist for it.
    func queueName(_ parameters: WireParameters, _ request: SQSRequest) throws(QueueError) -> String {
        let caller = account(request)
        if let url = try parameters.string("QueueUrl") {
            if !url.isEmpty, !url.utf8.contains(UInt8(ascii: "/")) { return stored(url, request) }
            guard let (account, name) = Self.accountAndName(fromQueueUrl: url) else {
                throw QueueError.queueDoesNotExist()
            }
            guard account == caller else {
                throw QueueError.queueDoesNotExist()
            }
            return stored(name, request)
        }
        if let pathQueue = request.pathQueue {
            guard pathQueue.account == caller, !pathQueue.name.contains("/") else {
                throw QueueError.queueDoesNotExist()
            }
            return stored(pathQueue.name, request)
        }
        throw WireParameters.missing("QueueUrl")
    }

    /// The stored name of the caller's queue `bare` (a name without `/`).
    func stored(_ bare: String, _ request: SQSRequest) -> String {
        AccountScope.name(bare, account: account(request), ownAccount: accountId)
    }

    /// Splits `scheme://host/ACCOUNT/NAME` (or `/ACCOUNT/NAME`) into its account and queue name.
    public static func accountAndName(fromQueueUrl url: String) -> (String, String)? {
        var bytes = Substring(url).utf8[...]
        // Skip `scheme://authority` when present.
        if let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
            bytes[colon...].starts(with: "://".utf8)
        {
            bytes = bytes[bytes.index(colon, offsetBy: 3)...]
            guard let slash = bytes.firstIndex(of: UInt8(ascii: "/")) else { return nil }
            bytes = bytes[slash...]
        }
        if let question = bytes.firstIndex(of: UInt8(ascii: "?")) { bytes = bytes[..<question] }
        let segments = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
        guard segments.count == 2 else { return nil }
        return (String(Substring(segments[0])), String(Substring(segments[1])))
    }

    /// The URL of the stored queue `name`, in the caller's account.
    func queueUrl(_ name: String, _ request: SQSRequest) -> String {
        "\(request.baseURL)/\(account(request))/\(AccountScope.bare(name))"
    }

    /// Refuses an ARN of another account than the caller's with `error` (the queue does not exist for it).
    func checkOwnArn(_ arn: String, _ request: SQSRequest, else error: QueueError) throws(QueueError) {
        if let arnAccount = AccountScope.account(ofArn: arn), arnAccount != account(request) { throw error }
    }
}
