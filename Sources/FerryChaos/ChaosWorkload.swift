import FerryBench
import Foundation
import NIOCore
import NIOPosix
import Placement
import Raft
import SQSWire
import SigV4
import Synchronization

/// The queues a chaos run uses: a standard queue that redrives to a dead-letter queue on another shard,
/// and a FIFO queue.
public struct ChaosQueues: Sendable, Equatable {
    public var standard = "chaos-standard"
    public var deadLetter: String
    public var fifo = "chaos-fifo.fifo"

    /// The dead-letter queue's name is the first `chaos-dead-letters-K` whose home shard is not the
    /// standard queue's (with one shard, there is no other).
    public init(shardCount: Int) {
        let home = Placement.shard(forQueue: standard, shardCount: shardCount)
        var index = 1
        while shardCount > 1, Placement.shard(forQueue: "chaos-dead-letters-\(index)", shardCount: shardCount) == home {
            index += 1
        }
        deadLetter = "chaos-dead-letters-\(index)"
    }

    public var all: [String] { [standard, deadLetter, fifo] }
}

/// Producers and consumers on every node of a cluster, as SQS applications behave: SigV4-signed AWS JSON
/// requests on keep-alive connections, retried as an AWS SDK does (three attempts, backoff, on throttling,
/// 5xx and broken connections), consumers that delete, let a message time out, or give it back at once.
/// Every request ends in the history with its outcome: ok, failed (an AWS error: it had no effect), or
/// unknown (a timeout, a broken connection or a 5xx after it was sent: it may have taken effect).
public final class ChaosWorkload: Sendable {
    public struct Configuration: Sendable {
        /// Node i's SQS endpoint at index i - 1.
        public var endpoints: [String]
        public var accessKeyId: String
        public var secret: String
        public var region = "us-east-1"
        public var shardCount = 8
        public var seed: UInt64 = 1
        /// Sends per second, all producers together.
        public var sendsPerSecond: Double = 40
        public var visibilityTimeoutSeconds = 4
        public var maxReceiveCount = 3
        /// A request not answered in this time (plus a receive's wait) is abandoned as unknown.
        public var requestTimeout: Duration = .seconds(10)
        /// Share of standard messages no consumer deletes (they reach the dead-letter queue).
        public var poisonShare = 0.04

        public init(endpoints: [String], accessKeyId: String, secret: String) {
            self.endpoints = endpoints
            self.accessKeyId = accessKeyId
            self.secret = secret
        }
    }

    public enum Limits {
        /// Attempts of one request (the AWS SDKs' standard retry mode).
        public static let attemptsMax = 3
        public static let fifoGroups = 6
        public static let receiveBatchMax = 10
        public static let waitTimeSeconds = 1
    }

    private enum Phase: Int {
        case producing, draining, stopped
    }

    public let configuration: Configuration
    public let queues: ChaosQueues
    public let recorder: ChaosRecorder
    private let signer: SigV4Signer
    private let group: any EventLoopGroup
    private let phase = Atomic<Int>(Phase.producing.rawValue)

    public init(
        configuration: Configuration, recorder: ChaosRecorder,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.queues = ChaosQueues(shardCount: configuration.shardCount)
        self.recorder = recorder
        self.group = group
        self.signer = SigV4Signer(
            accessKeyId: configuration.accessKeyId, secret: configuration.secret, region: configuration.region)
    }

    /// Producers stop; consumers go on, deleting everything they get.
    public func stopProducing() { phase.store(Phase.draining.rawValue, ordering: .relaxed) }

    /// Every worker stops after its current request.
    public func stop() { phase.store(Phase.stopped.rawValue, ordering: .relaxed) }

    private var current: Phase { Phase(rawValue: phase.load(ordering: .relaxed)) ?? .stopped }

    // MARK: Set-up

    /// Creates the queues through node 1 (then any node), retrying until `deadline`.
    public func createQueues(deadline: ContinuousClock.Instant) async throws {
        var lastError = "no attempt"
        var node = 0
        while ContinuousClock.now < deadline {
            let endpoint = configuration.endpoints[node % configuration.endpoints.count]
            node += 1
            do {
                try await withClient(endpoint) { client in try await createQueues(client) }
                return
            } catch {
                lastError = "\(error)"
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        throw ChaosScheduleError(description: "the chaos queues could not be created: \(lastError)")
    }

    private func createQueues(_ client: SQSBenchClient) async throws {
        let visibility = "\(configuration.visibilityTimeoutSeconds)"
        var body = JSONBody(capacity: 256)
        body.raw("{\"QueueName\":")
        body.string(queues.deadLetter)
        body.raw(",\"Attributes\":{\"VisibilityTimeout\":\"\(visibility)\"}}")
        let timeout = configuration.requestTimeout
        let deadLetterURL =
            try await client.call("CreateQueue", body.bytes, timeout: timeout)["QueueUrl"]?.stringValue ?? ""
        var attributes = JSONBody(capacity: 128)
        attributes.raw("{\"QueueUrl\":")
        attributes.string(deadLetterURL)
        attributes.raw(",\"AttributeNames\":[\"QueueArn\"]}")
        let arn =
            try await client.call("GetQueueAttributes", attributes.bytes, timeout: timeout)["Attributes"]?.objectValue?[
                "QueueArn"]?
            .stringValue ?? ""
        let policy = "{\"deadLetterTargetArn\":\"\(arn)\",\"maxReceiveCount\":\"\(configuration.maxReceiveCount)\"}"
        body = JSONBody(capacity: 256)
        body.raw("{\"QueueName\":")
        body.string(queues.standard)
        body.raw(",\"Attributes\":{\"VisibilityTimeout\":\"\(visibility)\",\"RedrivePolicy\":")
        body.string(policy)
        body.raw("}}")
        _ = try await client.call("CreateQueue", body.bytes, timeout: timeout)
        body = JSONBody(capacity: 256)
        body.raw("{\"QueueName\":")
        body.string(queues.fifo)
        body.raw(",\"Attributes\":{\"FifoQueue\":\"true\",\"VisibilityTimeout\":\"\(visibility)\"}}")
        _ = try await client.call("CreateQueue", body.bytes, timeout: timeout)
    }

    // MARK: Running

    /// The suffix of standard-queue bodies no consumer deletes from it.
    public static let poisonSuffix = "-poison"

    /// Runs the producers (a standard and a FIFO one on each node) until `stopProducing()`; returns once
    /// each has ended the request it had under way, retries included.
    public func runProducers() async {
        await withTaskGroup(of: Void.self) { tasks in
            for node in 1...configuration.endpoints.count {
                tasks.addTask { await self.produce(node: node, fifo: false) }
                tasks.addTask { await self.produce(node: node, fifo: true) }
            }
        }
    }

    /// Runs the consumers of the three queues on each node until `stop()`.
    public func runConsumers() async {
        await withTaskGroup(of: Void.self) { tasks in
            for node in 1...configuration.endpoints.count {
                for queue in queues.all { tasks.addTask { await self.consume(node: node, queue: queue) } }
            }
        }
    }

    private func withClient<Result>(_ endpoint: String, _ body: (SQSBenchClient) async throws -> Result)
        async throws -> Result
    {
        guard let parsed = Endpoint(parsing: endpoint) else {
            throw ChaosScheduleError(description: "bad endpoint \(endpoint)")
        }
        return try await SQSConnection.withConnection(to: parsed, tls: nil, group: group) { connection in
            try await body(SQSBenchClient(connection: connection, signer: signer))
        }
    }

    /// One attempt's result.
    private enum Attempt {
        case ok(WireObject)
        /// An AWS error that says the request had no effect (4xx).
        case failed(String)
        /// Retryable: throttled (no effect), or 5xx / malformed (maybe an effect).
        case retry(String, maybeApplied: Bool)
        /// The connection broke or timed out after the request went out: maybe an effect.
        case broken(String)
    }

    private static let throttlingCodes: Set<String> = [
        "RequestThrottled", "ThrottlingException", "Throttling", "OverLimit", "SlowDown",
    ]

    private func attempt(_ client: SQSBenchClient, _ action: String, _ body: [UInt8], wait: Int = 0) async -> Attempt {
        do {
            return .ok(try await client.call(action, body, timeout: configuration.requestTimeout + .seconds(wait)))
        } catch let error as SQSCallError {
            if Self.throttlingCodes.contains(error.code) { return .retry(error.code, maybeApplied: false) }
            if error.status >= 500 || error.status == 0 { return .retry(error.code, maybeApplied: true) }
            return .failed(error.code)
        } catch {
            return .broken("ConnectionBroken")
        }
    }

    /// A request in progress, kept across reconnections (as an SDK retries on a new connection).
    private struct Pending {
        var operation: ChaosOperation
        var body: [UInt8]
        var attempts = 0
        var maybeApplied = false
        var lastCode = ""
    }

    /// Runs `pending` on `client` until it ends (recorded) or the connection breaks (returned, to retry
    /// on a new connection).
    private func perform(_ pending: inout Pending, action: String, on client: SQSBenchClient) async -> WireObject?? {
        while pending.attempts < Limits.attemptsMax {
            pending.attempts += 1
            switch await attempt(client, action, pending.body) {
            case .ok(let result):
                return .some(result)
            case .failed(let code):
                pending.lastCode = code
                return .some(nil)
            case .retry(let code, let maybeApplied):
                pending.lastCode = code
                pending.maybeApplied = pending.maybeApplied || maybeApplied
                try? await Task.sleep(for: .milliseconds(50 << pending.attempts))
            case .broken(let code):
                pending.lastCode = code
                pending.maybeApplied = true
                return nil
            }
        }
        return .some(nil)
    }

    /// Records `pending` as ended: ok with `result`, otherwise failed or unknown.
    private func finish(_ pending: Pending, result: WireObject?) {
        var operation = pending.operation
        operation.endMs = recorder.now()
        if pending.maybeApplied { operation.retried = true }
        if let result {
            operation.outcome = .ok
            operation.messageId = result["MessageId"]?.stringValue
            operation.md5OfBody = result["MD5OfMessageBody"]?.stringValue
        } else {
            operation.outcome = pending.maybeApplied ? .unknown : .failed
            operation.errorCode = pending.lastCode
        }
        recorder.record(operation)
    }

    private func produce(node: Int, fifo: Bool) async {
        let endpoint = configuration.endpoints[node - 1]
        let queue = fifo ? queues.fifo : queues.standard
        var random = SplitMix64(seed: configuration.seed &+ UInt64(node) &* 0x9E37_79B9 &+ (fifo ? 1 : 0))
        let producers = Double(configuration.endpoints.count * 2)
        let interval = Duration.seconds(producers / max(0.1, configuration.sendsPerSecond))
        var nextSend = ContinuousClock.now
        var sequence = 0
        var carried: Pending?
        while current == .producing || carried != nil, current != .stopped {
            var connected = false
            do {
                try await withClient(endpoint) { client in
                    connected = true
                    while current != .stopped {
                        var pending: Pending
                        if let carried_ = carried {
                            pending = carried_
                            carried = nil
                        } else {
                            guard current == .producing else { return }
                            let now = ContinuousClock.now
                            if nextSend > now { try await Task.sleep(until: nextSend, clock: .continuous) }
                            nextSend = max(nextSend, now - interval) + interval
                            sequence += 1
                            pending = makeSend(node: node, queue: queue, fifo: fifo, sequence: sequence, &random)
                        }
                        guard let result = await perform(&pending, action: "SendMessage", on: client) else {
                            carried = pending
                            throw ConnectionBroken()
                        }
                        finish(pending, result: result)
                        if !client.connection.isReusable { return }
                    }
                }
            } catch {
                if !connected, var pending = carried {
                    // Refused before anything was sent: an attempt without effect.
                    pending.attempts += 1
                    pending.lastCode = "ConnectionRefused"
                    carried = pending
                }
                if let pending = carried, pending.attempts >= Limits.attemptsMax {
                    finish(pending, result: nil)
                    carried = nil
                }
                try? await Task.sleep(for: .milliseconds(connected ? 50 : 250))
            }
        }
        if let pending = carried { finish(pending, result: nil) }
    }

    private func makeSend(node: Int, queue: String, fifo: Bool, sequence: Int, _ random: inout SplitMix64) -> Pending {
        var text = "chaos-\(configuration.seed)-n\(node)-\(fifo ? "f" : "s")\(sequence)"
        if sequence % 7 == 0 { text += "-ünï·cödé" }
        if !fifo && Double.random(in: 0..<1, using: &random) < configuration.poisonShare { text += Self.poisonSuffix }
        let group = fifo ? "g\(Int.random(in: 0..<Limits.fifoGroups, using: &random))" : nil
        var body = JSONBody(capacity: 256)
        body.raw("{\"QueueUrl\":")
        body.string(queue)
        body.raw(",\"MessageBody\":")
        body.string(text)
        if let group {
            body.raw(",\"MessageGroupId\":")
            body.string(group)
            body.raw(",\"MessageDeduplicationId\":")
            body.string(ChaosChecker.md5(text))
        }
        body.raw("}")
        let start = recorder.now()
        let operation = ChaosOperation(
            id: 0, node: node, action: .send, queue: queue, startMs: start, endMs: start, outcome: .unknown,
            body: text, groupId: group)
        return Pending(operation: operation, body: body.bytes)
    }

    private func consume(node: Int, queue: String) async {
        let endpoint = configuration.endpoints[node - 1]
        var random = SplitMix64(seed: configuration.seed ^ (UInt64(node) << 32) ^ UInt64(queue.utf8.count))
        while current != .stopped {
            var connected = false
            do {
                try await withClient(endpoint) { client in
                    connected = true
                    while current != .stopped {
                        try await receiveOnce(node: node, queue: queue, client: client, &random)
                        if !client.connection.isReusable { return }
                    }
                }
            } catch {
                try? await Task.sleep(for: .milliseconds(connected ? 50 : 250))
            }
        }
    }

    /// One receive, then the consumer's choice for each message: delete (most), give back at once
    /// (visibility 0), or leave it to time out; a poison message is never deleted from its queue.
    private func receiveOnce(node: Int, queue: String, client: SQSBenchClient, _ random: inout SplitMix64)
        async throws
    {
        var body = JSONBody(capacity: 160)
        body.raw("{\"QueueUrl\":")
        body.string(queue)
        body.raw(
            ",\"MaxNumberOfMessages\":\(Limits.receiveBatchMax),\"WaitTimeSeconds\":\(Limits.waitTimeSeconds),"
                + "\"AttributeNames\":[\"All\"]}")
        let start = recorder.now()
        var operation = ChaosOperation(
            id: 0, node: node, action: .receive, queue: queue, startMs: start, endMs: start, outcome: .unknown)
        let outcome = await attempt(client, "ReceiveMessage", body.bytes, wait: Limits.waitTimeSeconds)
        operation.endMs = recorder.now()
        let result: WireObject
        switch outcome {
        case .ok(let object):
            result = object
        case .failed(let code), .retry(let code, false):
            operation.outcome = .failed
            operation.errorCode = code
            recorder.record(operation)
            try await Task.sleep(for: .milliseconds(100))
            return
        case .retry(let code, _):
            operation.errorCode = code
            recorder.record(operation)
            try await Task.sleep(for: .milliseconds(100))
            return
        case .broken(let code):
            operation.errorCode = code
            recorder.record(operation)
            throw ConnectionBroken()
        }
        var deletes: [String] = []
        var giveBack: [String] = []
        var received: [ChaosOperation.Received] = []
        let draining = current != .producing
        for message in result["Messages"]?.listValue ?? [] {
            guard let object = message.objectValue, let text = object["Body"]?.stringValue else { continue }
            let attributes = object["Attributes"]?.objectValue
            received.append(
                ChaosOperation.Received(
                    messageId: object["MessageId"]?.stringValue ?? "", body: text,
                    md5OfBody: object["MD5OfBody"]?.stringValue ?? "",
                    receiveCount: attributes?["ApproximateReceiveCount"]?.stringValue.flatMap { Int($0) },
                    groupId: attributes?["MessageGroupId"]?.stringValue))
            guard let handle = object["ReceiptHandle"]?.stringValue else { continue }
            let choice = Double.random(in: 0..<1, using: &random)
            let poison = queue == queues.standard && text.hasSuffix(Self.poisonSuffix)
            if poison {
                continue
            } else if draining {
                deletes.append(handle)
            } else if choice < 0.05 {
                giveBack.append(handle)
            } else if choice < 0.10 {
                continue
            } else {
                deletes.append(handle)
            }
        }
        operation.outcome = .ok
        operation.messages = received
        recorder.record(operation)
        if !deletes.isEmpty { try await batch(node: node, queue: queue, handles: deletes, delete: true, client) }
        if !giveBack.isEmpty { try await batch(node: node, queue: queue, handles: giveBack, delete: false, client) }
    }

    /// DeleteMessageBatch or ChangeMessageVisibilityBatch (to 0) of `handles`, retried as an SDK does.
    private func batch(node: Int, queue: String, handles: [String], delete: Bool, _ client: SQSBenchClient)
        async throws
    {
        var body = JSONBody(capacity: handles.count * 600 + 128)
        body.raw("{\"QueueUrl\":")
        body.string(queue)
        body.raw(",\"Entries\":[")
        for (index, handle) in handles.enumerated() {
            if index > 0 { body.raw(",") }
            body.raw("{\"Id\":\"\(index)\",\"ReceiptHandle\":")
            body.string(handle)
            body.raw(delete ? "}" : ",\"VisibilityTimeout\":0}")
        }
        body.raw("]}")
        let start = recorder.now()
        var pending = Pending(
            operation: ChaosOperation(
                id: 0, node: node, action: delete ? .delete : .changeVisibility, queue: queue, startMs: start,
                endMs: start, outcome: .unknown),
            body: body.bytes)
        let action = delete ? "DeleteMessageBatch" : "ChangeMessageVisibilityBatch"
        let result = await perform(&pending, action: action, on: client)
        var operation = pending.operation
        operation.endMs = recorder.now()
        switch result {
        case .some(.some(let answer)):
            let failed = answer["Failed"]?.listValue ?? []
            operation.outcome = .ok
            if let first = failed.first?.objectValue?["Code"]?.stringValue { operation.errorCode = first }
            recorder.record(operation)
        case .some(.none):
            operation.outcome = pending.maybeApplied ? .unknown : .failed
            operation.errorCode = pending.lastCode
            recorder.record(operation)
        case .none:
            operation.errorCode = pending.lastCode
            recorder.record(operation)
            throw ConnectionBroken()
        }
    }
}

/// A worker's connection broke: it reconnects.
private struct ConnectionBroken: Error {}
