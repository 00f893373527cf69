import Foundation
import Logging
import NIOCore
import NIOPosix
import PeerTransport
import QueueEngine
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
        let fileSystems: [UInt64: FakeFileSystem]
        let nodes = Mutex<[UInt64: ClusterNode]>([:])

        init(count: Int) throws {
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

        func configuration(_ id: UInt64) throws -> ClusterConfiguration {
            var configuration = ClusterConfiguration(
                dataDirectory: "/node-\(id)", receiptHandleKey: ClusterNodeTests.key)
            configuration.nodeID = id
            configuration.nodes = ports.keys.sorted()
            configuration.shardCount = 2
            configuration.fileSystem = fileSystems[id]!
            configuration.shard.tickMilliseconds = 20
            configuration.shard.proposalTimeoutMilliseconds = 3_000
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
            logger.logLevel = .error
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

        func stopAll() async {
            for id in ports.keys { await stop(id) }
        }
    }

    /// Retries a command until it stops answering ServiceUnavailable (an election in progress).
    static func eventually(_ node: ClusterNode, _ command: Command, seconds: Double = 10) async -> CommandResult {
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
        let harness = try Harness(count: 3)
        for id in [1, 2, 3] as [UInt64] { try await harness.start(id) }
        guard
            case .queueCreated = await Self.eventually(
                harness.node(1), .createQueue(name: "q", attributes: [:], tags: [:]))
        else {
            Issue.record("create failed")
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
        let harness = try Harness(count: 3)
        for id in [1, 2, 3] as [UInt64] { try await harness.start(id) }
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
        let deadline = Date().addingTimeInterval(10)
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
}
