import SQSWire

extension BenchRunner {
    /// The SendMessage (one sequence) or SendMessageBatch body for `sequences`.
    func sendBody(_ sequences: Range<Int>, queueUrl: String, payload: Payload) -> [UInt8] {
        var body = JSONBody(capacity: sequences.count * (configuration.messageSizeBytes + 96) + 128)
        body.raw("{\"QueueUrl\":")
        body.string(queueUrl)
        let single = configuration.batchSize == 1
        body.raw(single ? "," : ",\"Entries\":[")
        for (index, sequence) in sequences.enumerated() {
            if index > 0 { body.raw(",") }
            if !single { body.raw("{\"Id\":\"\(index)\",") }
            body.raw("\"MessageBody\":\"")
            body.payload(payload, sequence)
            body.raw("\"")
            if configuration.fifo {
                body.raw(",\"MessageGroupId\":\"g\(sequence % configuration.groups)\",\"MessageDeduplicationId\":")
                body.string("\(payload.runId)-\(sequence)")
            }
            if !single { body.raw("}") }
        }
        body.raw(single ? "}" : "]}")
        return body.bytes
    }

    /// Records a send's answer: the sequences acknowledged and the entries refused.
    func recordSent(_ sequences: Range<Int>, result: WireObject, state: BenchState) {
        if configuration.batchSize == 1 {
            state.sent([sequences.lowerBound])
            return
        }
        var acknowledged: [Int] = []
        for entry in result["Successful"]?.listValue ?? [] {
            if let id = entry.objectValue?["Id"]?.stringValue, let offset = Int(id), offset < sequences.count {
                acknowledged.append(sequences.lowerBound + offset)
            }
        }
        for entry in result["Failed"]?.listValue ?? [] {
            state.error(entry.objectValue?["Code"]?.stringValue ?? "Failed")
        }
        state.sent(acknowledged)
    }

    /// The ReceiveMessage body.
    func receiveBody(queueUrl: String) -> [UInt8] {
        var body = JSONBody(capacity: 256)
        body.raw("{\"QueueUrl\":")
        body.string(queueUrl)
        body.raw(
            ",\"MaxNumberOfMessages\":\(configuration.batchSize),\"WaitTimeSeconds\":\(configuration.waitTimeSeconds)}")
        return body.bytes
    }

    /// The DeleteMessageBatch body for received `messages` (nil when there are none), and the sequences of
    /// this run among them.
    func deleteBody(for messages: [WireValue], queueUrl: String, state: BenchState) -> (
        body: [UInt8], sequences: [Int]
    )? {
        guard !messages.isEmpty else { return nil }
        var sequences: [Int] = []
        var delete = JSONBody(capacity: messages.count * 600 + 128)
        delete.raw("{\"QueueUrl\":")
        delete.string(queueUrl)
        delete.raw(",\"Entries\":[")
        for (index, message) in messages.enumerated() {
            let object = message.objectValue
            if let text = object?["Body"]?.stringValue {
                if let sequence = Payload.sequence(in: text, runId: configuration.workload == .consume ? nil : runId) {
                    sequences.append(sequence)
                } else {
                    state.error("ForeignMessage")
                }
            }
            if index > 0 { delete.raw(",") }
            delete.raw("{\"Id\":\"\(index)\",\"ReceiptHandle\":")
            delete.string(object?["ReceiptHandle"]?.stringValue ?? "")
            delete.raw("}")
        }
        delete.raw("]}")
        return (delete.bytes, sequences)
    }

    static func code(of error: any Error) -> String {
        if let call = error as? SQSCallError { return call.code }
        return "ConnectionError"
    }
}

extension JSONBody {
    /// Appends a message body of the run (inside a JSON string: it needs no escapes).
    mutating func payload(_ payload: Payload, _ sequence: Int) {
        payload.append(sequence, to: &bytes)
    }
}

/// Message bodies: `fb:<run id>:<sequence>:` padded with `x` to the configured size, so the consumer
/// can tell which message it got.
struct Payload: Sendable {
    let runId: String
    let sizeBytes: Int

    init(runId: String, sizeBytes: Int) {
        self.runId = runId
        self.sizeBytes = sizeBytes
    }

    func body(_ sequence: Int) -> String {
        var bytes: [UInt8] = []
        append(sequence, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the body of `sequence` (no character in it needs a JSON escape: the run id is base 36).
    func append(_ sequence: Int, to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: "fb:\(runId):\(sequence):".utf8)
        let written = bytes.count - start
        if written < sizeBytes {
            bytes.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: sizeBytes - written))
        }
    }

    /// The sequence number in a body of this run (any run when `runId` is nil).
    static func sequence(in body: String, runId: String?) -> Int? {
        let parts = body.utf8.split(separator: UInt8(ascii: ":"), maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0].elementsEqual("fb".utf8) else { return nil }
        if let runId, !parts[1].elementsEqual(runId.utf8) { return nil }
        return Int(String(decoding: parts[2], as: UTF8.self))
    }
}
