import NIOSSL
import SQSWire

extension BenchRunner {
    /// One producer: claims sequence numbers and sends them until the run's bound, reconnecting on
    /// connection failures.
    func produce(worker: Int, queueUrl: String, payload: Payload, tls: NIOSSLContext?, state: BenchState) async {
        defer { state.producerFinished() }
        let endpoint = endpoints[worker % endpoints.count]
        var failures = 0
        var finished = false
        // With --rate, each producer sends its share on a fixed schedule (no catching up in bursts).
        let interval = configuration.rateMessagesPerSecond.map { rate in
            Duration.seconds(Double(configuration.batchSize) * Double(configuration.producers) / rate)
        }
        var nextSend = ContinuousClock.now
        while !finished && failures < Self.reconnectAttemptsMax && !Task.isCancelled {
            do {
                finished = try await withClient(endpoint, tls: tls) { client in
                    while client.connection.isReusable, let sequences = state.claimSequences(configuration.batchSize) {
                        if let interval {
                            let now = ContinuousClock.now
                            if nextSend > now { try await Task.sleep(until: nextSend, clock: .continuous) }
                            nextSend = max(nextSend, now - interval) + interval
                        }
                        try await sendBatch(
                            sequences, client: client, queueUrl: queueUrl, payload: payload, state: state)
                        failures = 0
                    }
                    // A server that closes connections after each response gets a new one.
                    return client.connection.isReusable
                }
            } catch {
                failures += 1
                state.error(Self.code(of: error))
            }
        }
    }

    private func sendBatch(
        _ sequences: Range<Int>, client: SQSBenchClient, queueUrl: String, payload: Payload, state: BenchState
    ) async throws {
        var body = JSONBody(capacity: sequences.count * (configuration.messageSizeBytes + 96) + 128)
        body.raw("{\"QueueUrl\":")
        body.string(queueUrl)
        let single = configuration.batchSize == 1
        body.raw(single ? "," : ",\"Entries\":[")
        for (index, sequence) in sequences.enumerated() {
            if index > 0 { body.raw(",") }
            if !single { body.raw("{\"Id\":\"\(index)\",") }
            body.raw("\"MessageBody\":")
            body.string(payload.body(sequence))
            if configuration.fifo {
                body.raw(",\"MessageGroupId\":\"g\(sequence % configuration.groups)\",\"MessageDeduplicationId\":")
                body.string("\(payload.runId)-\(sequence)")
            }
            if !single { body.raw("}") }
        }
        body.raw(single ? "}" : "]}")
        let type: RequestType = single ? .sendMessage : .sendMessageBatch
        let started = MonotonicTime.microseconds()
        state.requestStarted()
        defer { state.requestEnded() }
        let result: WireObject
        do {
            result = try await client.call(type.rawValue, body.bytes)
        } catch let error as SQSCallError {
            state.record(type, microseconds: MonotonicTime.microseconds() - started)
            state.error(error.code, count: sequences.count)
            return
        }
        state.record(type, microseconds: MonotonicTime.microseconds() - started)
        if single {
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

    /// One consumer: receives, records and deletes until the run says stop.
    func consume(worker: Int, queueUrl: String, tls: NIOSSLContext?, state: BenchState) async {
        let endpoint = endpoints[worker % endpoints.count]
        var failures = 0
        while failures < Self.reconnectAttemptsMax && !Task.isCancelled {
            do {
                try await withClient(endpoint, tls: tls) { client in
                    while !Task.isCancelled && client.connection.isReusable {
                        try await receiveAndDelete(client: client, queueUrl: queueUrl, tls: tls, state: state)
                        failures = 0
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                failures += 1
                state.error(Self.code(of: error))
            }
        }
    }

    private func receiveAndDelete(
        client: SQSBenchClient, queueUrl: String, tls: NIOSSLContext?, state: BenchState
    ) async throws {
        var body = JSONBody(capacity: 256)
        body.raw("{\"QueueUrl\":")
        body.string(queueUrl)
        body.raw(
            ",\"MaxNumberOfMessages\":\(configuration.batchSize),\"WaitTimeSeconds\":\(configuration.waitTimeSeconds)}")
        let started = MonotonicTime.microseconds()
        state.requestStarted()
        let result: WireObject
        do {
            defer { state.requestEnded() }
            result = try await client.call(RequestType.receiveMessage.rawValue, body.bytes)
        } catch let error as SQSCallError {
            state.error(error.code)
            return
        }
        state.record(.receiveMessage, microseconds: MonotonicTime.microseconds() - started)
        let messages = result["Messages"]?.listValue ?? []
        guard !messages.isEmpty else { return }
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
        let deleteStarted = MonotonicTime.microseconds()
        state.requestStarted()
        defer { state.requestEnded() }
        var deleted = 0
        do {
            let answer: WireObject
            if client.connection.isReusable {
                answer = try await client.call(RequestType.deleteMessageBatch.rawValue, delete.bytes)
            } else {
                // The server closed the connection after the receive: delete over a new one.
                answer = try await withClient(client.connection.endpoint, tls: tls) { fresh in
                    try await fresh.call(RequestType.deleteMessageBatch.rawValue, delete.bytes)
                }
            }
            deleted = answer["Successful"]?.listValue?.count ?? 0
            for entry in answer["Failed"]?.listValue ?? [] {
                state.error(entry.objectValue?["Code"]?.stringValue ?? "Failed")
            }
        } catch let error as SQSCallError {
            state.error(error.code, count: messages.count)
        }
        state.record(.deleteMessageBatch, microseconds: MonotonicTime.microseconds() - deleteStarted)
        state.received(
            configuration.workload == .consume ? [] : sequences, count: messages.count, deleted: deleted)
    }

    static func code(of error: any Error) -> String {
        if let call = error as? SQSCallError { return call.code }
        return "ConnectionError"
    }
}

/// Message bodies: `fb:<run id>:<sequence>:` padded with `x` to the configured size, so the consumer
/// can tell which message it got.
struct Payload: Sendable {
    let runId: String
    let sizeBytes: Int
    private let padding: String

    init(runId: String, sizeBytes: Int) {
        self.runId = runId
        self.sizeBytes = sizeBytes
        self.padding = String(repeating: "x", count: sizeBytes)
    }

    func body(_ sequence: Int) -> String {
        let prefix = "fb:\(runId):\(sequence):"
        return prefix + padding.prefix(max(0, sizeBytes - prefix.utf8.count))
    }

    /// The sequence number in a body of this run (any run when `runId` is nil).
    static func sequence(in body: String, runId: String?) -> Int? {
        let parts = body.utf8.split(separator: UInt8(ascii: ":"), maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0].elementsEqual("fb".utf8) else { return nil }
        if let runId, !parts[1].elementsEqual(runId.utf8) { return nil }
        return Int(String(decoding: parts[2], as: UTF8.self))
    }
}
