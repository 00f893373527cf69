import Foundation
import Logging
import NIOCore
import NIOPosix
import PeerTransport
import Placement
import QueueEngine
import SegmentLog
import Synchronization
import TestSupport
import Testing

@testable import Cluster

/// Three nodes in this process, over real mutual-TLS links on loopback, each with its own simulated disk.
@Suite(.serialized) struct ClusterNodeTests {
    static let authority = try! ClusterCertificateAuthority(clusterName: "cluster-tests")
    static let key = [UInt8](repeating: 7, count: 32)

    final class Harness: Sendable {
        let ports: [UInt64: Int]
        let settings = Mutex<UInt64>(100_000)
        let fileSystems: [UInt64: FakeFileSystem]
        let nodes = Mutex<[UInt64: ClusterNode]>([:])
        let shardCount: Int
        let replicationFactor: Int

        init(count: Int, shardCount: Int = 2, replicationFactor: Int = 3) throws {
            self.shardCount = shardCount
            self.replicationFactor = replicationFactor
            var channels: [any Channel] = []
            for _ in 0..<count {
                channels.append(
                    try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0)
                        .wait())
            }
            var ports: [UInt64: Int] = [:]
            var fileSystems: [UInt64: FakeFileSystem] = [:]
            for (index, channel) in channels.enumerated() {
                ports[UInt64(index + 1)] = channel.localAddress!.port!
                fileSystems[UInt64(index + 1)] = FakeFileSystem()
                try channel.close().wait()
            }
            self.ports = ports
            self.fileSystems = fileSystems
        }

        var snapshotEntries: UInt64 {
            get { settings.withLock { $0 } }
            set { settings.withLock { $0 = newValue } }
        }

        func configuration(_ id: UInt64) throws -> ClusterConfiguration {
            var configuration = ClusterConfiguration(
                dataDirectory: "/node-\(id)", receiptHandleKey: ClusterNodeTests.key)
            configuration.nodeID = id
            configuration.nodes = ports.keys.sorted()
            configuration.shardCount = shardCount
            configuration.replicationFactor = replicationFactor
            configuration.fileSystem = fileSystems[id]!
            configuration.shard.tickMilliseconds = 50
            configuration.shard.proposalTimeoutMilliseconds = 5_000
            configuration.shard.snapshotEntries = snapshotEntries
            // Snapshots travel in many small pieces here; no margin, so a lagging replica needs one.
            configuration.shard.snapshotChunkBytes = 1_024
            configuration.shard.compactionMarginEntries = 0
            var peers: [UInt64: PeerAddress] = [:]
            for (peer, port) in ports where peer != id { peers[peer] = PeerAddress(host: "127.0.0.1", port: port) }
            let issued = try ClusterNodeTests.authority.issueNodeCertificate(nodeID: id, hosts: ["127.0.0.1"])
            var transport = PeerTransportConfiguration(
                nodeID: id, clusterName: "cluster-tests", listen: PeerAddress(host: "127.0.0.1", port: ports[id]!),
                peers: peers,
                tls: PeerTLSMaterial(
                    caCertificatePEM: try ClusterNodeTests.authority.certificatePEM,
                    certificatePEM: issued.certificatePEM, privateKeyPEM: issued.privateKeyPEM))
            transport.idleTimeoutMilliseconds = 1_000
            transport.pingIntervalMilliseconds = 100
            configuration.transport = transport
            return configuration
        }

        func start(_ id: UInt64) async throws {
            var logger = Logger(label: "node-\(id)")
            logger.logLevel =
                ProcessInfo.processInfo.environment["FERRY_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .error
            let node = try ClusterNode(
                configuration: try configuration(id), group: MultiThreadedEventLoopGroup.singleton, logger: logger,
                onFatal: { reason in Issue.record("node \(id) failed: \(reason)") })
            try await node.start()
            nodes.withLock { $0[id] = node }
        }

        func stop(_ id: UInt64) async {
            guard let node = nodes.withLock({ $0.removeValue(forKey: id) }) else { return }
            await node.shutdown()
        }

        func node(_ id: UInt64) -> ClusterNode { nodes.withLock { $0[id]! } }

        /// A harness with every node started. The ports are found free then bound by the nodes a moment
        /// later, so another test may take one in between: then it starts over on new ports (5 tries).
        static func running(count: Int, shardCount: Int = 2, replicationFactor: Int = 3) async throws -> Harness {
            var attempt = 1
            while true {
                let harness = try Harness(count: count, shardCount: shardCount, replicationFactor: replicationFactor)
                do {
                    for id in 1...UInt64(count) { try await harness.start(id) }
                    return harness
                } catch  where attempt < 5 && "\(error)".contains("Address already in use") {
                    await harness.stopAll()
                    attempt += 1
                }
            }
        }

        func stopAll() async {
            for id in ports.keys { await stop(id) }
        }
    }

    /// Retries a command until it stops answering ServiceUnavailable (an election in progress).
    static func eventually(_ node: ClusterNode, _ command: Command, seconds: Double = 60) async -> CommandResult {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let result = await node.apply(command)
            if case .failure(let error) = result, error.code == .serviceUnavailable, Date() < deadline {
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            return result
        }
    }

    static func send(_ body: String, queue: String = "q") -> Command {
        .sendMessages(
            queueName: queue, entries: [SendMessageEntry(id: "1", body: body)], senderId: "AIDA", isBatch: false)
    }

    static func receive(_ node: ClusterNode, queue: String = "q", max: Int = 10) async -> [ReceivedMessage] {
        let request = ReceiveMessageRequest(queueName: queue, maxNumberOfMessages: max, visibilityTimeoutSeconds: 30)
        guard case .received(let messages) = await node.receive(request, waitSeconds: 1) else { return [] }
        return messages
    }

    @Test func anyNodeTakesAnyRequestAndEveryReplicaAgrees() async throws {
        let harness = try await Harness.running(count: 3)
        let created = await Self.eventually(harness.node(1), .createQueue(name: "q", attributes: [:], tags: [:]))
        guard case .queueCreated = created else {
            Issue.record("create failed: \(created)")
            return await harness.stopAll()
        }
        for index in 0..<30 {
            let result = await Self.eventually(harness.node(UInt64(index % 3 + 1)), Self.send("m\(index)"))
            guard case .sent = result else {
                Issue.record("send \(index): \(result)")
                break
            }
        }
        for id in [1, 2, 3] as [UInt64] {
            let count = try await harness.node(id).read(queue: "q") { engine in engine.availableMessageCount("q") }
            #expect(count == 30, "node \(id) sees \(count)")
        }
        var bodies: [String] = []
        for round in 0..<6 {
            let node = harness.node(UInt64(round % 3 + 1))
            let messages = await Self.receive(node)
            bodies += messages.map(\.body)
            let entries = messages.enumerated().map {
                ReceiptEntry(id: "\($0.offset)", receiptHandle: $0.element.receiptHandle)
            }
            if !entries.isEmpty {
                // Deleted through another node than the one that received.
                let other = harness.node(UInt64((round + 1) % 3 + 1))
                _ = await Self.eventually(other, .deleteMessages(queueName: "q", entries: entries, isBatch: true))
            }
        }
        #expect(Set(bodies) == Set((0..<30).map { "m\($0)" }))
        let names = try await harness.node(2).listQueues(prefix: nil, maxResults: nil, nextToken: nil).queueNames
        #expect(names == ["q"])
        await harness.stopAll()
    }

    @Test func theClusterKeepsServingWhenALeaderStopsAndTheNodeCatchesUpOnReturn() async throws {
        let harness = try await Harness.running(count: 3)
        _ = await Self.eventually(harness.node(1), .createQueue(name: "q", attributes: [:], tags: [:]))
        for index in 0..<10 { _ = await Self.eventually(harness.node(1), Self.send("before-\(index)")) }
        let leader = harness.node(1).leader(ofQueue: "q")
        #expect(leader != 0)
        await harness.stop(leader)
        let survivors = [1, 2, 3].map(UInt64.init).filter { $0 != leader }
        for index in 0..<10 {
            let result = await Self.eventually(harness.node(survivors[index % 2]), Self.send("after-\(index)"))
            guard case .sent = result else {
                Issue.record("send after the leader stopped: \(result)")
                break
            }
        }
        try await harness.start(leader)
        // The restarted node restores from its disk and catches up on what it missed.
        let deadline = Date().addingTimeInterval(60)
        var count = 0
        while Date() < deadline {
            count =
                (try? await harness.node(leader).read(queue: "q") { engine in engine.availableMessageCount("q") }) ?? 0
            if count == 20 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(count == 20)
        await harness.stopAll()
    }

    @Test func aReplicaThatMissedCompactedEntriesCatchesUpBySnapshot() async throws {
        let harness = try Harness(count: 3)
        harness.snapshotEntries = 40
        for id in [1, 2, 3] as [UInt64] { try await harness.start(id) }
        _ = await Self.eventually(harness.node(1), .createQueue(name: "q", attributes: [:], tags: [:]))
        let leader = harness.node(1).leader(ofQueue: "q")
        let lagging: UInt64 = leader == 3 ? 2 : 3
        await harness.stop(lagging)
        let others = [1, 2, 3].map(UInt64.init).filter { $0 != lagging }
        for index in 0..<150 {
            let result = await Self.eventually(harness.node(others[index % 2]), Self.send("m\(index)"))
            guard case .sent = result else {
                Issue.record("send \(index): \(result)")
                break
            }
        }
        // The survivors snapshotted and compacted their logs past what the stopped node has.
        let directory = "/node-\(leader)/shard-\(harness.node(leader).placement.shard(forQueue: "q").rawValue)"
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let names = (try? harness.fileSystems[leader]!.contentsOfDirectory(directory)) ?? []
            if names.contains(where: { $0.hasSuffix(".snap") }) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try harness.fileSystems[leader]!.contentsOfDirectory(directory).contains { $0.hasSuffix(".snap") })
        try await harness.start(lagging)
        var count = 0
        while Date() < deadline.addingTimeInterval(60) {
            count =
                (try? await harness.node(lagging).read(queue: "q") { engine in engine.availableMessageCount("q") }) ?? 0
            if count == 150 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(count == 150, "the restarted node holds \(count) of 150 messages")
        let lagDirectory = "/node-\(lagging)/shard-\(harness.node(leader).placement.shard(forQueue: "q").rawValue)"
        #expect(try harness.fileSystems[lagging]!.contentsOfDirectory(lagDirectory).contains { $0.hasSuffix(".snap") })
        await harness.stopAll()
    }

    @Test func aReplicaWithACorruptLogRepairsFromItsPeers() async throws {
        let harness = try await Harness.running(count: 3)
        _ = await Self.eventually(harness.node(1), .createQueue(name: "q", attributes: [:], tags: [:]))
        for index in 0..<30 { _ = await Self.eventually(harness.node(1), Self.send("m\(index)")) }
        let leader = harness.node(1).leader(ofQueue: "q")
        let damaged: UInt64 = leader == 3 ? 2 : 3
        let shard = harness.node(1).placement.shard(forQueue: "q").rawValue
        await harness.stop(damaged)
        let segment = "/node-\(damaged)/shard-\(shard)/segment-00000000000000000001.log"
        let size = harness.fileSystems[damaged]!.contents(segment)!.count
        harness.fileSystems[damaged]!.flipBit(path: segment, byteOffset: size / 2, bit: 5)
        harness.fileSystems[damaged]!.restart()
        // It starts (cut back to its valid prefix), then re-fetches the rest from the leader.
        try await harness.start(damaged)
        let deadline = Date().addingTimeInterval(60)
        var count = 0
        while Date() < deadline {
            count =
                (try? await harness.node(damaged).read(queue: "q") { engine in engine.availableMessageCount("q") }) ?? 0
            if count == 30 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(count == 30)
        #expect(try harness.fileSystems[damaged]!.contentsOfDirectory("/node-\(damaged)/shard-\(shard)").count > 0)
        // New writes reach it as a normal follower again.
        for index in 30..<35 { _ = await Self.eventually(harness.node(damaged), Self.send("m\(index)")) }
        let total = try await harness.node(damaged).read(queue: "q") { engine in engine.availableMessageCount("q") }
        #expect(total == 35)
        await harness.stopAll()
    }
}
