import Foundation

extension QueueEngine {
    /// Actions AddPermission accepts (`*` grants all).
    static let permissionActions: Set<String> = [
        "*", "SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes",
        "GetQueueUrl", "ListDeadLetterSourceQueues", "PurgeQueue", "ListQueueTags", "ListMessageMoveTasks",
        "StartMessageMoveTask", "CancelMessageMoveTask",
    ]

    /// AddPermission: adds a statement labelled `label` to the queue's Policy document.
    mutating func addPermission(name: String, label: String, accountIds: [String], actions: [String]) throws(QueueError)
    {
        guard let policy = queues[name].map({ $0.configuration.policy }) else { throw .queueDoesNotExist() }
        try Self.validateLabel(label)
        guard !accountIds.isEmpty else {
            throw QueueError(.missingParameter, "The request must contain the parameter AWSAccountIds.")
        }
        guard !actions.isEmpty else {
            throw QueueError(.missingParameter, "The request must contain the parameter Actions.")
        }
        for action in actions where !Self.permissionActions.contains(action) {
            throw QueueError.invalidParameter(
                "ActionName.1", action, reason: "Please refer to the appropriate WSDL for a list of valid actions.")
        }
        guard actions.count <= 7 else {
            throw QueueError(.overLimit, "7 Actions were found, maximum allowed is 7.")
        }
        var document = try policyDocument(policy, queueName: name)
        var statements = document["Statement"] as? [[String: Any]] ?? []
        if statements.contains(where: { $0["Sid"] as? String == label }) {
            throw QueueError.invalidParameter("Label", label, reason: "Already exists.")
        }
        let principals = accountIds.map { "arn:aws:iam::\($0):root" }
        statements.append([
            "Sid": label, "Effect": "Allow",
            "Principal": ["AWS": principals.count == 1 ? principals[0] as Any : principals as Any],
            "Action": actions.map { "SQS:\($0)" }.count == 1
                ? "SQS:\(actions[0])" as Any : actions.map { "SQS:\($0)" } as Any,
            "Resource": queueArn(name),
        ])
        document["Statement"] = statements
        queues[name]!.configuration.policy = try Self.render(document)
        queues[name]!.lastModifiedTimestamp = clock
    }

    /// RemovePermission: removes the statement labelled `label`.
    mutating func removePermission(name: String, label: String) throws(QueueError) {
        guard let policy = queues[name].map({ $0.configuration.policy }) else { throw .queueDoesNotExist() }
        var document = try policyDocument(policy, queueName: name)
        var statements = document["Statement"] as? [[String: Any]] ?? []
        guard let index = statements.firstIndex(where: { $0["Sid"] as? String == label }) else {
            throw QueueError.invalidParameter("Label", label, reason: "can't find label.")
        }
        statements.remove(at: index)
        if statements.isEmpty {
            queues[name]!.configuration.policy = nil
        } else {
            document["Statement"] = statements
            queues[name]!.configuration.policy = try Self.render(document)
        }
        queues[name]!.lastModifiedTimestamp = clock
    }

    static func validateLabel(_ label: String) throws(QueueError) {
        guard !label.isEmpty, label.utf8.count <= QueueLimits.permissionLabelLengthMax,
            label.utf8.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                    || byte == 0x2d || byte == 0x5f
            })
        else {
            throw QueueError.invalidParameter(
                "Label", label,
                reason: "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.")
        }
    }

    private func policyDocument(_ policy: String?, queueName: String) throws(QueueError) -> [String: Any] {
        guard let text = policy else {
            return ["Version": "2008-10-17", "Id": "\(queueArn(queueName))/SQSDefaultPolicy", "Statement": [Any]()]
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw QueueError(.invalidAttributeValue, "The queue's Policy is not a JSON object.")
        }
        return object
    }

    /// Renders a policy with sorted keys, so every replica produces the same bytes.
    private static func render(_ document: [String: Any]) throws(QueueError) -> String {
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes]),
            data.count <= QueueLimits.policyBytesMax
        else { throw QueueError(.overLimit, "The queue's Policy would exceed \(QueueLimits.policyBytesMax) bytes.") }
        return String(decoding: data, as: UTF8.self)
    }
}
