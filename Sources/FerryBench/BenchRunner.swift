import NIOCore
import NIOPosix
import NIOSSL
import SQSWire
import SigV4
import Synchronization

/// Runs one benchmark: sets up the queue, drives producers and consumers, checks delivery, and reports.
public struct BenchRunner: Sendable {
    public let configuration: BenchConfiguration
    let endpoints: [Endpoint]
    let runId: String
    let group: any EventLoopGroup
    let signer: SigV4Signer

    /// Errors that end a run before it measures anything.
    public struct SetupError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(configuration: BenchConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton)
        throws
    {
        if let problem = configuration.validationError() { throw SetupError(description: problem) }
        self.configuration = configuration
        self.endpoints = configuration.endpoints.compactMap(Endpoint.init(parsing:))
        self.group = group
        self.signer = SigV4Signer(
            accessKeyId: configuration.accessKeyId, secret: configuration.secretAccessKey, region: configuration.region)
        var generator = SystemRandomNumberGenerator()
        self.runId = String(UInt64.random(in: 0...UInt64.max, using: &generator), radix: 36)
    }

    /// Runs the benchmark. `betweenSetupAndLoad` runs after the queue exists, with its URL (a test seam).
    public func run(afterProduce: (@Sendable (String) async throws -> Void)? = nil) async throws -> BenchReport {
        let tls = try makeTLSContext()
        let queueName = configuration.queueName ?? "ferry-bench-\(runId)" + (configuration.fifo ? ".fifo" : "")
        let queueUrl = try await setUpQueue(named: queueName, tls: tls)
        let cpuBefore = ProcessCPU.seconds()
        let sequential = afterProduce != nil
        let state = BenchState(
            messageLimit: configuration.messages,
            durationSeconds: configuration.messages == nil
                ? (configuration.durationSeconds ?? 15) : configuration.durationSeconds,
            producers: configuration.workload == .consume ? 0 : configuration.producers)
        let payload = Payload(runId: runId, sizeBytes: configuration.messageSizeBytes)
        try await withThrowingTaskGroup(of: Void.self) { group in
            if configuration.showProgress {
                group.addTask { await ProgressLine.run(state: state, configuration: configuration) }
            }
            if configuration.workload != .consume {
                for index in 0..<configuration.producers {
                    let worker = worker(.producer(payload), index, queueUrl: queueUrl, tls: tls, state: state)
                    group.addTask { await worker.run() }
                }
            }
            if sequential {
                while state.values.withLock({ $0.producersRunning }) > 0 {
                    try await Task.sleep(for: .milliseconds(20))
                }
                try await afterProduce?(queueUrl)
            }
            if configuration.workload != .produce {
                for index in 0..<configuration.consumers {
                    let worker = worker(.consumer, index, queueUrl: queueUrl, tls: tls, state: state)
                    group.addTask { await worker.run() }
                }
            }
            if configuration.workload != .produce {
                while !state.consumersShouldStop(
                    workload: configuration.workload, drainTimeoutSeconds: configuration.drainTimeoutSeconds)
                {
                    try await Task.sleep(for: .milliseconds(50))
                }
            } else {
                while state.values.withLock({ $0.producersRunning }) > 0 {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            group.cancelAll()
        }
        if configuration.showProgress { ProgressLine.finish() }
        let cpuAfter = ProcessCPU.seconds()
        if configuration.queueName == nil && !configuration.keepQueue {
            try? await withClient(endpoints[0], tls: tls) { client in
                _ = try await client.call("DeleteQueue", Self.queueUrlBody(queueUrl))
            }
        }
        return BenchReport(
            configuration: configuration, queueUrl: queueUrl, state: state,
            cpuSeconds: (cpuAfter.user - cpuBefore.user, cpuAfter.system - cpuBefore.system))
    }

    private func makeTLSContext() throws -> NIOSSLContext? {
        guard endpoints.contains(where: \.isTLS) else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let path = configuration.caBundlePath { tls.trustRoots = .file(path) }
        return try NIOSSLContext(configuration: tls)
    }

    /// Worker `index` of its kind: on the group's next event loop, with the endpoints taken in turn.
    private func worker(
        _ role: LoopWorker.Role, _ index: Int, queueUrl: String, tls: NIOSSLContext?, state: BenchState
    ) -> LoopWorker {
        LoopWorker(
            runner: self, role: role, endpoint: endpoints[index % endpoints.count], queueUrl: queueUrl, tls: tls,
            state: state, loop: group.next())
    }

    func withClient<Result>(
        _ endpoint: Endpoint, tls: NIOSSLContext?, _ body: (SQSBenchClient) async throws -> Result
    ) async throws -> Result {
        try await SQSConnection.withConnection(to: endpoint, tls: tls, group: group) { connection in
            try await body(SQSBenchClient(connection: connection, signer: signer))
        }
    }

    private func setUpQueue(named name: String, tls: NIOSSLContext?) async throws -> String {
        try await withClient(endpoints[0], tls: tls) { client in
            var body = JSONBody(capacity: 256)
            body.raw("{\"QueueName\":")
            body.string(name)
            if configuration.fifo { body.raw(",\"Attributes\":{\"FifoQueue\":\"true\"}") }
            body.raw("}")
            let result: WireObject
            if configuration.workload == .consume && configuration.queueName != nil {
                var lookup = JSONBody(capacity: 128)
                lookup.raw("{\"QueueName\":")
                lookup.string(name)
                lookup.raw("}")
                result = try await client.call("GetQueueUrl", lookup.bytes)
            } else {
                result = try await client.call("CreateQueue", body.bytes)
            }
            guard let url = result["QueueUrl"]?.stringValue else {
                throw SetupError(description: "no QueueUrl in the answer for queue \(name)")
            }
            return url
        }
    }

    static func queueUrlBody(_ queueUrl: String) -> [UInt8] {
        var body = JSONBody(capacity: 128)
        body.raw("{\"QueueUrl\":")
        body.string(queueUrl)
        body.raw("}")
        return body.bytes
    }

    /// Consecutive connection failures after which a worker gives up.
    static let reconnectAttemptsMax = 5
}
