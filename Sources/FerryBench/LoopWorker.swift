import NIOCore
import NIOSSL
import SQSWire
import SigV4

/// One producer or consumer of a run, driven by callbacks on one event loop over a `LoopConnection`,
/// so that the generator spends its CPU on requests rather than on waking tasks. A producer claims
/// sequence numbers and sends them until the run's bound; a consumer receives and deletes until it is
/// stopped. Both reconnect after a connection failure, and give up after
/// `BenchRunner.reconnectAttemptsMax` failures in a row.
final class LoopWorker: @unchecked Sendable {
    // @unchecked: every var below is touched only on `loop`.

    enum Role: Sendable {
        case producer(Payload)
        case consumer
    }

    private let runner: BenchRunner
    private let role: Role
    private let endpoint: Endpoint
    private let queueUrl: String
    private let tls: NIOSSLContext?
    private let state: BenchState
    private let loop: any EventLoop
    private let keyMemo = SigV4SigningKeyMemo()
    private let ended: EventLoopPromise<Void>
    /// With `--rate`: this producer's time between batches.
    private let interval: TimeAmount?

    private var connection: LoopConnection?
    private var failures = 0
    private var isDone = false
    /// With `--rate`: when the next batch may go.
    private var nextSend = NIODeadline.now()

    init(
        runner: BenchRunner, role: Role, endpoint: Endpoint, queueUrl: String, tls: NIOSSLContext?,
        state: BenchState, loop: any EventLoop
    ) {
        self.runner = runner
        self.role = role
        self.endpoint = endpoint
        self.queueUrl = queueUrl
        self.tls = tls
        self.state = state
        self.loop = loop
        self.ended = loop.makePromise()
        let configuration = runner.configuration
        // Each producer sends its share on a fixed schedule (no catching up in bursts).
        self.interval = configuration.rateMessagesPerSecond.map { rate in
            .nanoseconds(Int64(Double(configuration.batchSize) * Double(configuration.producers) / rate * 1e9))
        }
    }

    /// Runs until the worker ends: a producer when the run's bound is reached (or it gave up), a
    /// consumer when the calling task is cancelled (or it gave up).
    func run() async {
        await withTaskCancellationHandler {
            loop.execute { self.next() }
            try? await ended.futureResult.get()
        } onCancel: {
            loop.execute { self.finish() }
        }
    }

    private func finish() {
        guard !isDone else { return }
        isDone = true
        if case .producer = role { state.producerFinished() }
        connection?.close()
        connection = nil
        ended.succeed()
    }

    /// The worker's next request, or its end.
    private func next() {
        guard !isDone else { return }
        switch role {
        case .producer(let payload):
            guard let sequences = state.claimSequences(runner.configuration.batchSize) else { return finish() }
            if let interval {
                let now = NIODeadline.now()
                let slot = nextSend
                nextSend = max(nextSend, now - interval) + interval
                if slot > now {
                    loop.scheduleTask(deadline: slot) { self.send(sequences, payload) }
                    return
                }
            }
            send(sequences, payload)
        case .consumer:
            receive()
        }
    }

    private func send(_ sequences: Range<Int>, _ payload: Payload) {
        guard !isDone else { return }
        let body = runner.sendBody(sequences, queueUrl: queueUrl, payload: payload)
        let type: RequestType = runner.configuration.batchSize == 1 ? .sendMessage : .sendMessageBatch
        let started = MonotonicTime.microseconds()
        state.requestStarted()
        call(type.rawValue, body) { outcome in
            self.state.requestEnded()
            switch outcome {
            case .success(let result):
                self.state.record(type, microseconds: MonotonicTime.microseconds() - started)
                self.runner.recordSent(sequences, result: result, state: self.state)
            case .failure(let error as SQSCallError):
                self.state.record(type, microseconds: MonotonicTime.microseconds() - started)
                self.state.error(error.code, count: sequences.count)
            case .failure:
                return self.connectionFailed()
            }
            self.next()
        }
    }

    private func receive() {
        let started = MonotonicTime.microseconds()
        state.requestStarted()
        call(RequestType.receiveMessage.rawValue, runner.receiveBody(queueUrl: queueUrl)) { outcome in
            self.state.requestEnded()
            switch outcome {
            case .success(let result):
                self.state.record(.receiveMessage, microseconds: MonotonicTime.microseconds() - started)
                let messages = result["Messages"]?.listValue ?? []
                guard let delete = self.runner.deleteBody(for: messages, queueUrl: self.queueUrl, state: self.state)
                else { return self.next() }
                self.delete(delete.body, sequences: delete.sequences, count: messages.count)
            case .failure(let error as SQSCallError):
                self.state.error(error.code)
                self.next()
            case .failure:
                self.connectionFailed()
            }
        }
    }

    private func delete(_ body: [UInt8], sequences: [Int], count: Int) {
        guard !isDone else { return }
        let started = MonotonicTime.microseconds()
        state.requestStarted()
        call(RequestType.deleteMessageBatch.rawValue, body) { outcome in
            self.state.requestEnded()
            var deleted = 0
            switch outcome {
            case .success(let answer):
                deleted = answer["Successful"]?.listValue?.count ?? 0
                for entry in answer["Failed"]?.listValue ?? [] {
                    self.state.error(entry.objectValue?["Code"]?.stringValue ?? "Failed")
                }
            case .failure(let error as SQSCallError):
                self.state.error(error.code, count: count)
            case .failure:
                // The messages come back after their visibility timeout and are counted then.
                return self.connectionFailed()
            }
            self.state.record(.deleteMessageBatch, microseconds: MonotonicTime.microseconds() - started)
            self.state.received(
                self.runner.configuration.workload == .consume ? [] : sequences, count: count, deleted: deleted)
            self.next()
        }
    }

    /// Calls `action` over the worker's connection, opening one first when it has none or the server
    /// closes the one it has. `completion` gets the result, the AWS error (`SQSCallError`) or the
    /// connection's failure, on the loop.
    private func call(
        _ action: String, _ body: [UInt8], completion: @escaping @Sendable (Result<WireObject, any Error>) -> Void
    ) {
        guard let connection, connection.isReusable else {
            connection?.close()
            connection = nil
            LoopConnection.connect(to: endpoint, tls: tls, on: loop).whenComplete { result in
                switch result {
                case .success(let connection):
                    guard !self.isDone else {
                        connection.close()
                        return completion(.failure(SQSConnection.ConnectionError(description: "the worker stopped")))
                    }
                    self.connection = connection
                    self.call(action, body, completion: completion)
                case .failure(let error):
                    completion(.failure(error))
                }
            }
            return
        }
        let headers: [(name: String, value: String)]
        do {
            headers = try SQSBenchClient.signedHeaders(
                action: action, body: body, authority: endpoint.authority, signer: runner.signer, keyMemo: keyMemo)
        } catch {
            // Counted as a connection failure, so that a request that cannot be signed ends the worker.
            return completion(.failure(SQSConnection.ConnectionError(description: "cannot sign the request: \(error)")))
        }
        connection.post(headers: headers, body: body) { response in
            switch response {
            case .success(let response):
                self.failures = 0
                do {
                    completion(.success(try SQSBenchClient.result(of: action, response)))
                } catch {
                    completion(.failure(error))
                }
            case .failure(let error):
                completion(.failure(error))
            }
        }
    }

    /// A connection failed or closed under a request: counted, then reconnect or give up.
    private func connectionFailed() {
        connection?.close()
        connection = nil
        guard !isDone else { return }
        failures += 1
        state.error("ConnectionError")
        if failures >= BenchRunner.reconnectAttemptsMax { return finish() }
        next()
    }
}
