import Hummingbird
import Logging
import SQSFrontend
import SQSWire
import ServiceLifecycle
import Testing

@testable import FerryBench

/// Runs `ferry bench` against an in-process Ferry server on a free loopback port.
@Suite("ferry bench against a real server", .serialized)
struct BenchEndToEndTests {
    static let credentials = ("AKIDBENCHTEST", "bench-test-secret")

    func withServer(_ body: @Sendable (String) async throws -> Void) async throws {
        var configuration = SQSServerConfiguration(receiptHandleKey: Array(repeating: 9, count: 32))
        configuration.port = 0
        configuration.credentials = [Self.credentials.0: Self.credentials.1]
        let (urls, continuation) = AsyncStream<String>.makeStream()
        let logger = Logger(label: "bench-test")
        let app = try SQSServer.makeApplication(configuration, logger: logger) { url in continuation.yield(url) }
        let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            var iterator = urls.makeAsyncIterator()
            guard let url = await iterator.next() else {
                throw BenchRunner.SetupError(description: "server did not start")
            }
            do {
                try await body(url)
            } catch {
                await services.triggerGracefulShutdown()
                throw error
            }
            await services.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    func configuration(_ url: String) -> BenchConfiguration {
        var configuration = BenchConfiguration()
        configuration.endpoints = [url]
        configuration.accessKeyId = Self.credentials.0
        configuration.secretAccessKey = Self.credentials.1
        configuration.messages = 2_000
        configuration.producers = 2
        configuration.consumers = 2
        configuration.drainTimeoutSeconds = 2
        return configuration
    }

    @Test func fullCycleDeliversEverything() async throws {
        try await withServer { url in
            let report = try await BenchRunner(configuration: configuration(url)).run()
            #expect(report.delivery.sent == 2_000)
            #expect(report.delivery.lost == 0)
            #expect(report.delivery.uniqueReceived == 2_000)
            #expect(report.deleted == 2_000)
            #expect(report.errors.isEmpty)
            #expect(report.latencies[.sendMessageBatch]?.count == 200)
            #expect(report.messagesPerSecond > 0)
            #expect(report.json.contains("\"lost\":0"))
        }
    }

    /// `--rate` paces the producers: 300 messages at 1,000 per second cannot be sent in much under 0.3 s
    /// (a lower bound only: a loaded machine may take longer).
    @Test func rateBoundsTheProducers() async throws {
        try await withServer { url in
            var configuration = configuration(url)
            configuration.messages = 300
            configuration.rateMessagesPerSecond = 1_000
            let report = try await BenchRunner(configuration: configuration).run()
            #expect(report.delivery.sent == 300)
            #expect(report.delivery.lost == 0)
            #expect(report.errors.isEmpty)
            let produceRate = try #require(report.produceMessagesPerSecond)
            #expect(produceRate <= 1_000 * 1.25, "sent at \(produceRate) msg/s")
        }
    }

    @Test func fifoWithSingleSends() async throws {
        try await withServer { url in
            var configuration = configuration(url)
            configuration.fifo = true
            configuration.batchSize = 1
            configuration.messages = 300
            configuration.groups = 4
            let report = try await BenchRunner(configuration: configuration).run()
            #expect(report.delivery.sent == 300)
            #expect(report.delivery.lost == 0)
            #expect(report.latencies[.sendMessage]?.count == 300)
        }
    }

    /// A message taken from the queue behind the generator's back must be reported lost.
    @Test func aStolenMessageIsReportedLost() async throws {
        try await withServer { url in
            let runner = try BenchRunner(configuration: configuration(url))
            let report = try await runner.run(afterProduce: { queueUrl in
                try await runner.withClient(runner.endpoints[0], tls: nil) { client in
                    let received = try await client.call("ReceiveMessage", BenchRunner.queueUrlBody(queueUrl))
                    let handle = try #require(
                        received["Messages"]?.listValue?.first?.objectValue?["ReceiptHandle"]?.stringValue)
                    var body = JSONBody(capacity: 512)
                    body.raw("{\"QueueUrl\":")
                    body.string(queueUrl)
                    body.raw(",\"ReceiptHandle\":")
                    body.string(handle)
                    body.raw("}")
                    _ = try await client.call("DeleteMessage", body.bytes)
                }
            })
            #expect(report.delivery.sent == 2_000)
            #expect(report.delivery.lost == 1)
            #expect(report.lostExamples.count == 1)
            #expect(report.text.contains("LOST 1 ACKNOWLEDGED MESSAGE"))
            #expect(report.json.contains("\"lost\":1"))
        }
    }

    @Test func wrongCredentialsShowUpAsErrors() async throws {
        try await withServer { url in
            var configuration = configuration(url)
            configuration.secretAccessKey = "wrong"
            await #expect(throws: SQSCallError.self) { try await BenchRunner(configuration: configuration).run() }
        }
    }
}
