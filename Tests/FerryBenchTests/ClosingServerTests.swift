import Cluster
import HTTPTypes
import Hummingbird
import Logging
import NIOPosix
import QueueEngine
import SQSFrontend
import ServiceLifecycle
import Testing

@testable import FerryBench

/// A server that closes the connection after every response (as HTTP/1.0 servers and moto do).
struct ClosingResponder: HTTPResponder {
    let inner: SQSResponder

    @Sendable func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        var response = try await inner.respond(to: request, context: context)
        response.headers[.connection] = "close"
        return response
    }
}

@Suite("ferry bench against a server that closes connections")
struct ClosingServerTests {
    @Test func reconnectsAndDeliversEverything() async throws {
        let logger = Logger(label: "closing-test")
        let host = try ClusterNode(
            configuration: .inMemory(receiptHandleKey: Array(repeating: 2, count: 32)),
            group: MultiThreadedEventLoopGroup.singleton, logger: logger, onFatal: { _ in })
        try await host.start()
        defer { Task { await host.shutdown() } }
        let responder = SQSResponder(
            handler: SQSHandler(host: host, accountId: "000000000000", region: "us-east-1"), verifier: nil,
            clock: SystemWallClock(), scheme: "http", logger: logger)
        let (urls, continuation) = AsyncStream<String>.makeStream()
        let app = Application(
            responder: ClosingResponder(inner: responder),
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield("http://127.0.0.1:\(channel.localAddress?.port ?? 0)") },
            logger: logger)
        let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            var iterator = urls.makeAsyncIterator()
            let url = try #require(await iterator.next())
            var configuration = BenchConfiguration()
            configuration.endpoints = [url]
            configuration.messages = 300
            configuration.producers = 2
            configuration.consumers = 2
            configuration.drainTimeoutSeconds = 2
            let report = try await BenchRunner(configuration: configuration).run()
            #expect(report.delivery.sent == 300)
            #expect(report.delivery.lost == 0)
            #expect(report.deleted == 300)
            #expect(report.errors.isEmpty)
            await services.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
