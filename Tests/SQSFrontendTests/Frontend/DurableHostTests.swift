import NIOPosix
import QueueEngine
import SegmentLog
import Synchronization
import TestSupport
import Testing

@testable import SQSFrontend

/// The journaled host on a simulated disk: what it acknowledges is what recovery finds.
@Suite("Durable host")
struct DurableHostTests {
    static let configuration = QueueEngineConfiguration(receiptHandleKey: Array(repeating: 9, count: 32))

    /// A started host over the log in `/data/log` of `fileSystem`, and its journal.
    func start(
        _ fileSystem: FakeFileSystem, snapshotEntriesMin: UInt64 = 100_000,
        onFailure: @escaping @Sendable (JournalError) -> Void = { _ in }
    ) throws -> (host: QueueHost, journal: CommandJournal, recovered: DurableEngine.Recovered) {
        var durability = DurabilityConfiguration(directory: "/data/log")
        durability.fileSystem = fileSystem
        let recovered = try DurableEngine.recover(configuration: Self.configuration, durability: durability)
        let journal = CommandJournal(log: recovered.log, policy: .always, onFailure: onFailure)
        journal.start()
        let host = QueueHost(
            engine: recovered.engine, timerLoop: MultiThreadedEventLoopGroup.singleton.any(),
            durability: QueueHost.Durability(
                journal: journal, directory: "/data/log", snapshotEntriesMin: snapshotEntriesMin,
                snapshotIndex: recovered.snapshotIndex, fileSystem: fileSystem))
        return (host, journal, recovered)
    }

    func send(_ host: QueueHost, _ bodies: [String], queue: String = "q") async -> CommandResult {
        await host.apply(
            .sendMessages(
                queueName: queue, entries: bodies.map { SendMessageEntry(id: $0, body: $0) }, senderId: "A",
                isBatch: true))
    }

    @Test func recoveryRebuildsExactlyTheAcknowledgedState() async throws {
        let fileSystem = FakeFileSystem()
        let (host, journal, _) = try start(fileSystem)
        _ = await host.apply(.createQueue(name: "q", attributes: [:], tags: ["k": "v"]))
        _ = await host.apply(.createQueue(name: "f.fifo", attributes: ["FifoQueue": "true"], tags: [:]))
        for batch in 0..<20 { _ = await send(host, (0..<10).map { "m\(batch)-\($0)" }) }
        _ = await host.apply(
            .sendMessages(
                queueName: "f.fifo",
                entries: [SendMessageEntry(body: "x", messageGroupId: "g", messageDeduplicationId: "d")],
                senderId: "A", isBatch: false))
        _ = await host.apply(.receiveMessages(ReceiveMessageRequest(queueName: "q", maxNumberOfMessages: 10)))
        let before = host.peek { $0.snapshot() }
        journal.stop()
        fileSystem.powerLoss()
        let (restarted, restartedJournal, recovered) = try start(fileSystem)
        #expect(recovered.replayedCount == 24)
        #expect(restarted.peek { $0.snapshot() } == before)
        restartedJournal.stop()
    }

    @Test func aFailedSyncAcknowledgesNothingAndRecoveryKeepsWhatWasAcknowledged() async throws {
        let fileSystem = FakeFileSystem()
        let failures = Mutex(0)
        let (host, _, _) = try start(fileSystem) { _ in failures.withLock { $0 += 1 } }
        _ = await host.apply(.createQueue(name: "q", attributes: [:], tags: [:]))
        guard case .sent = await send(host, ["durable"]) else {
            Issue.record("first send failed")
            return
        }
        fileSystem.failNext(.synchronize, errorNumber: 28)
        let failed = await send(host, ["lost"])
        #expect(
            failed
                == .failure(
                    QueueError(
                        .serviceUnavailable,
                        "The request could not be made durable; the node is restarting. Retry the request.")))
        #expect(failures.withLock { $0 } == 1)
        // Nothing more is taken once the journal failed.
        guard case .failure(let later) = await send(host, ["after"]) else {
            Issue.record("a send after the failure succeeded")
            return
        }
        #expect(later.code == .serviceUnavailable)
        fileSystem.powerLoss()
        let (restarted, journal, _) = try start(fileSystem)
        #expect(restarted.peek { $0.availableMessageCount("q") } == 1)
        journal.stop()
    }

    @Test func snapshotsBoundTheReplayAndCompactTheLog() async throws {
        let fileSystem = FakeFileSystem()
        let (host, journal, _) = try start(fileSystem, snapshotEntriesMin: 50)
        _ = await host.apply(.createQueue(name: "q", attributes: [:], tags: [:]))
        for batch in 0..<300 { _ = await send(host, ["m\(batch)"]) }
        for _ in 0..<200 where !fileSystem.paths.contains(where: { $0.hasSuffix(".snap") }) {
            try await Task.sleep(for: .milliseconds(10))
        }
        let before = host.peek { $0.snapshot() }
        journal.stop()
        let (restarted, restartedJournal, recovered) = try start(fileSystem)
        #expect(recovered.snapshotIndex > 0)
        #expect(recovered.replayedCount < 301)
        #expect(restarted.peek { $0.snapshot() } == before)
        #expect(restarted.peek { $0.availableMessageCount("q") } == 300)
        restartedJournal.stop()
    }
}
