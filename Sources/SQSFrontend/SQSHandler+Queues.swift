import Cluster
import QueueEngine
import SQSWire

extension SQSHandler {
    func createQueue(_ parameters: WireParameters, _ request: SQSRequest) async throws(QueueError) -> WireObject {
        let bare = try parameters.requiredString("QueueName")
        guard !bare.contains("/") else {
            throw QueueError(
                .invalidParameterValue,
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
        }
        let name = stored(bare, request)
        let attributes = try parameters.stringMap("Attributes")
        var tags = try parameters.stringMap("tags")
        if tags.isEmpty { tags = try parameters.stringMap("Tags") }
        switch await host.apply(.createQueue(name: name, attributes: attributes, tags: tags)) {
        case .failure(let error): throw error
        default: return ["QueueUrl": .string(queueUrl(name, request))]
        }
    }

    func getQueueUrl(_ parameters: WireParameters, _ request: SQSRequest) async throws(QueueError) -> WireObject {
        let bare = try parameters.requiredString("QueueName")
        if let owner = try parameters.string("QueueOwnerAWSAccountId"), owner != account(request) {
            throw QueueError.queueDoesNotExist()
        }
        guard !bare.contains("/") else { throw QueueError.queueDoesNotExist() }
        let name = stored(bare, request)
        guard try await host.query(.queueExists(name: name), queue: name).flag else {
            throw QueueError.queueDoesNotExist()
        }
        return ["QueueUrl": .string(queueUrl(name, request))]
    }

    func listQueues(_ parameters: WireParameters, _ request: SQSRequest) async throws(QueueError) -> WireObject {
        let prefix = try parameters.string("QueueNamePrefix")
        let maxResults = try parameters.integer("MaxResults")
        let nextToken = try parameters.string("NextToken")
        let scope = account(request) == accountId ? nil : account(request)
        let page = try await host.listQueues(
            prefix: prefix, account: scope, maxResults: maxResults, nextToken: nextToken)
        var result = WireObject()
        if !page.queueNames.isEmpty {
            result["QueueUrls"] = .list(page.queueNames.map { .string(queueUrl($0, request)) })
        }
        if let token = page.nextToken { result["NextToken"] = .string(token) }
        return result
    }

    func getQueueAttributes(_ parameters: WireParameters, _ request: SQSRequest) async throws(QueueError) -> WireObject
    {
        let name = try queueName(parameters, request)
        let names = try parameters.stringList("AttributeNames")
        let attributes = try await host.query(.queueAttributes(name: name, names: names), queue: name).map
        var result = WireObject()
        if !attributes.isEmpty { result["Attributes"] = .stringMap(attributes) }
        return result
    }

    func listDeadLetterSourceQueues(_ parameters: WireParameters, _ request: SQSRequest) async throws(QueueError)
        -> WireObject
    {
        let name = try queueName(parameters, request)
        let maxResults = try parameters.integer("MaxResults")
        let nextToken = try parameters.string("NextToken")
        let page = try await host.deadLetterSourceQueues(of: name, maxResults: maxResults, nextToken: nextToken)
        var result: WireObject = ["queueUrls": .list(page.queueNames.map { .string(queueUrl($0, request)) })]
        if let token = page.nextToken { result["NextToken"] = .string(token) }
        return result
    }

    func startMessageMoveTask(_ parameters: WireParameters, _ request: SQSRequest) async throws(QueueError)
        -> WireObject
    {
        let source = try parameters.requiredString("SourceArn")
        let destination = try parameters.string("DestinationArn")
        try checkOwnArn(source, request, else: .moveSourceMissing)
        if let destination { try checkOwnArn(destination, request, else: .moveDestinationMissing) }
        let rate = try parameters.integer("MaxNumberOfMessagesPerSecond")
        switch await host.apply(
            .startMessageMoveTask(sourceArn: source, destinationArn: destination, maxNumberOfMessagesPerSecond: rate))
        {
        case .failure(let error): throw error
        case .moveTaskStarted(let handle): return ["TaskHandle": .string(handle)]
        default: throw QueueError(.internalFailure, "Unexpected result.")
        }
    }

    func cancelMessageMoveTask(_ parameters: WireParameters, _ request: SQSRequest) async throws(QueueError)
        -> WireObject
    {
        let handle = try parameters.requiredString("TaskHandle")
        // A handle names its source queue's ARN (hex of `number|ARN`): one that does not, or names another
        // account's queue, matches no task of the caller's.
        let unknown = QueueError(.resourceNotFound, "The task handle \(handle) does not match a message move task.")
        guard let text = PageToken.decode(handle, hexCharactersMax: 8_192), let bar = text.firstIndex(of: "|"),
            AccountScope.account(ofArn: String(text[text.index(after: bar)...])) != nil
        else { throw unknown }
        try checkOwnArn(String(text[text.index(after: bar)...]), request, else: unknown)
        switch await host.apply(.cancelMessageMoveTask(taskHandle: handle)) {
        case .failure(let error): throw error
        case .moveTaskCancelled(let moved): return ["ApproximateNumberOfMessagesMoved": .integer(Int64(moved))]
        default: throw QueueError(.internalFailure, "Unexpected result.")
        }
    }

    func listMessageMoveTasks(_ parameters: WireParameters, _ request: SQSRequest) async throws(QueueError)
        -> WireObject
    {
        let source = try parameters.requiredString("SourceArn")
        try checkOwnArn(source, request, else: .moveSourceMissing)
        let maxResults = try parameters.integer("MaxResults")
        let sourceName = QueueEngine.routingName(ofArn: source)
        let tasks = try await host.query(
            .messageMoveTasks(sourceArn: source, maxResults: maxResults), queue: sourceName
        ).moveTasks
        let results: [WireValue] = tasks.map { task in
            var entry = WireObject()
            if let handle = task.taskHandle { entry["TaskHandle"] = .string(handle) }
            entry["Status"] = .string(task.status)
            entry["SourceArn"] = .string(task.sourceArn)
            if let destination = task.destinationArn { entry["DestinationArn"] = .string(destination) }
            if let rate = task.maxNumberOfMessagesPerSecond {
                entry["MaxNumberOfMessagesPerSecond"] = .integer(Int64(rate))
            }
            entry["ApproximateNumberOfMessagesMoved"] = .integer(Int64(task.approximateNumberOfMessagesMoved))
            entry["ApproximateNumberOfMessagesToMove"] = .integer(Int64(task.approximateNumberOfMessagesToMove))
            if let reason = task.failureReason { entry["FailureReason"] = .string(reason) }
            entry["StartedTimestamp"] = .integer(task.startedTimestamp)
            return .object(entry)
        }
        return ["Results": .list(results)]
    }
}
