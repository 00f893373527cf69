import Foundation
import Logging
import NIOCore
import NIOPosix
import PeerTransport
import Synchronization
import Testing

/// Real TLS links on loopback between transports in this process.
@Suite(.serialized) struct PeerTransportTLSTests {
    final class Inbox: Sendable {
        let frames = Mutex<[(PeerNodeID, PeerFrame)]>([])
        /// Each `onLinkChange`: the peer, and whether its link came up.
        let linkChanges = Mutex<[(PeerNodeID, Bool)]>([])

        func waitFor(count: Int, seconds: Double = 10) async -> [(PeerNodeID, PeerFrame)] {
            let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
            while ContinuousClock.now < deadline {
                let current = frames.withLock { $0 }
                if current.count >= count { return current }
                try? await Task.sleep(for: .milliseconds(10))
            }
            return frames.withLock { $0 }
        }
    }

    struct Node {
        let transport: PeerTransport
        let inbox: Inbox
    }

    static let authority = try! ClusterCertificateAuthority(clusterName: "test")
    static let group = MultiThreadedEventLoopGroup.singleton

    static func material(_ id: UInt64, authority: ClusterCertificateAuthority = authority, claim: UInt64? = nil)
        throws -> PeerTLSMaterial
    {
        let issued = try authority.issueNodeCertificate(nodeID: claim ?? id, hosts: ["127.0.0.1", "localhost"])
        return PeerTLSMaterial(
            caCertificatePEM: try Self.authority.certificatePEM, certificatePEM: issued.certificatePEM,
            privateKeyPEM: issued.privateKeyPEM)
    }

    static func freePorts(_ count: Int) throws -> [Int] {
        var channels: [any Channel] = []
        defer { for channel in channels { try? channel.close().wait() } }
        for _ in 0..<count {
            channels.append(try ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).wait())
        }
        return channels.map { $0.localAddress!.port! }
    }

    /// Node `id` listening on `ports[id]`, its peers the other nodes of `ports` (only those in `knowing`
    /// when given).
    static func start(
        _ id: UInt64, ports: [UInt64: Int], knowing: Set<UInt64>? = nil, tls: PeerTLSMaterial? = nil,
        cluster: String = "test", facts: PeerClusterFacts = .unknown, idleMilliseconds: Int = 1_000
    ) async throws -> Node {
        var peers: [UInt64: PeerAddress] = [:]
        for (peer, port) in ports where peer != id && knowing?.contains(peer) != false {
            peers[peer] = PeerAddress(host: "127.0.0.1", port: port)
        }
        var configuration = PeerTransportConfiguration(
            nodeID: id, clusterName: cluster, listen: PeerAddress(host: "127.0.0.1", port: ports[id]!), peers: peers,
            tls: try tls ?? material(id))
        configuration.facts = facts
        configuration.idleTimeoutMilliseconds = idleMilliseconds
        configuration.pingIntervalMilliseconds = 100
        let inbox = Inbox()
        var logger = Logger(label: "peer-\(id)")
        logger.logLevel = .critical
        let transport = try PeerTransport(
            configuration: configuration, group: group, logger: logger,
            onFrame: { peer, frame in inbox.frames.withLock { $0.append((peer, frame)) } },
            onLinkChange: { peer, isUp in inbox.linkChanges.withLock { $0.append((peer, isUp)) } })
        try await transport.start()
        return Node(transport: transport, inbox: inbox)
    }

    /// Generous: debug-built TLS handshakes on a busy 2-core machine (the whole suite runs at once) are slow.
    static func waitConnected(_ node: Node, to peer: UInt64, seconds: Double = 30) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if node.transport.isConnected(peer) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test func threeNodesExchangeFramesInOrderOverMutualTLS() async throws {
        let ports = try Self.freePorts(3)
        let map: [UInt64: Int] = [1: ports[0], 2: ports[1], 3: ports[2]]
        var nodes: [UInt64: Node] = [:]
        for id in [3, 1, 2] as [UInt64] { nodes[id] = try await Self.start(id, ports: map) }
        for (id, node) in nodes {
            for peer in map.keys where peer != id { #expect(await Self.waitConnected(node, to: peer)) }
        }
        for (id, node) in nodes {
            for peer in map.keys where peer != id {
                let frames = (0..<50).map { index in
                    PeerFrame(kind: .raft, shard: UInt32(index), payload: ByteBuffer(string: "\(id)→\(peer) #\(index)"))
                }
                #expect(node.transport.send(frames, to: peer))
            }
        }
        for (id, node) in nodes {
            let received = await node.inbox.waitFor(count: 100)
            #expect(received.count == 100)
            for sender in map.keys where sender != id {
                let fromSender = received.filter { $0.0 == sender }.map(\.1)
                #expect(fromSender.map(\.shard) == (0..<50).map { UInt32($0) }, "in order from \(sender)")
                #expect(fromSender.first?.payload == ByteBuffer(string: "\(sender)→\(id) #0"))
            }
        }
        for node in nodes.values { await node.transport.shutdown() }
    }

    @Test func aPeerRedialsAfterTheOtherSideRestarts() async throws {
        let ports = try Self.freePorts(2)
        let map: [UInt64: Int] = [1: ports[0], 2: ports[1]]
        let one = try await Self.start(1, ports: map)
        var two = try await Self.start(2, ports: map)
        #expect(await Self.waitConnected(one, to: 2))
        await two.transport.shutdown()
        two = try await Self.start(2, ports: map)
        #expect(await Self.waitConnected(one, to: 2))
        #expect(await Self.waitConnected(two, to: 1))
        #expect(two.transport.send([PeerFrame(kind: .raft, payload: ByteBuffer(string: "again"))], to: 1))
        #expect(await one.inbox.waitFor(count: 1).first?.1.payload == ByteBuffer(string: "again"))
        await one.transport.shutdown()
        await two.transport.shutdown()
    }

    @Test func sendingToAnUnconnectedPeerFailsAtOnce() async throws {
        let ports = try Self.freePorts(2)
        let one = try await Self.start(1, ports: [1: ports[0], 2: ports[1]])
        #expect(!one.transport.send([PeerFrame(kind: .raft)], to: 2))
        #expect(one.transport.droppedFrameCount == 1)
        await one.transport.shutdown()
    }

    @Test func aCertificateFromAnotherAuthorityIsRefused() async throws {
        let ports = try Self.freePorts(2)
        let map: [UInt64: Int] = [1: ports[0], 2: ports[1]]
        let stranger = try ClusterCertificateAuthority(clusterName: "other")
        let issued = try stranger.issueNodeCertificate(nodeID: 1, hosts: ["127.0.0.1"])
        // Node 1 trusts our CA but presents a certificate signed by another one.
        let forged = PeerTLSMaterial(
            caCertificatePEM: try Self.authority.certificatePEM, certificatePEM: issued.certificatePEM,
            privateKeyPEM: issued.privateKeyPEM)
        let one = try await Self.start(1, ports: map, tls: forged)
        let two = try await Self.start(2, ports: map)
        try await Task.sleep(for: .milliseconds(700))
        #expect(!two.transport.isConnected(1))
        #expect(!one.transport.isConnected(2))
        #expect(!one.transport.send([PeerFrame(kind: .raft)], to: 2))
        await one.transport.shutdown()
        await two.transport.shutdown()
    }

    @Test func aNodeCannotClaimAnotherNodesIdentity() async throws {
        let ports = try Self.freePorts(3)
        let map: [UInt64: Int] = [1: ports[0], 2: ports[1], 3: ports[2]]
        // Node 1's process holds node 3's (valid) certificate but says it is node 1.
        let one = try await Self.start(1, ports: map, tls: try Self.material(1, claim: 3))
        let two = try await Self.start(2, ports: map)
        try await Task.sleep(for: .milliseconds(700))
        #expect(!two.transport.isConnected(1))
        await one.transport.shutdown()
        await two.transport.shutdown()
    }

    @Test func aNodeOfAnotherClusterIsRefused() async throws {
        let ports = try Self.freePorts(2)
        let map: [UInt64: Int] = [1: ports[0], 2: ports[1]]
        let one = try await Self.start(1, ports: map, cluster: "blue")
        let two = try await Self.start(2, ports: map, cluster: "green")
        try await Task.sleep(for: .milliseconds(700))
        #expect(!two.transport.isConnected(1))
        #expect(!one.transport.isConnected(2))
        await one.transport.shutdown()
        await two.transport.shutdown()
    }

    @Test func aNodeConfiguredWithAnotherShardCountIsRefused() async throws {
        let ports = try Self.freePorts(2)
        let map: [UInt64: Int] = [1: ports[0], 2: ports[1]]
        let key = [UInt8](repeating: 1, count: 32)
        let one = try await Self.start(
            1, ports: map, facts: PeerClusterFacts(shardCount: 8, replicationFactor: 2, clusterKey: key))
        let two = try await Self.start(
            2, ports: map, facts: PeerClusterFacts(shardCount: 4, replicationFactor: 2, clusterKey: key))
        try await Task.sleep(for: .milliseconds(700))
        #expect(!two.transport.isConnected(1))
        #expect(!one.transport.isConnected(2))
        await one.transport.shutdown()
        await two.transport.shutdown()
    }

    @Test func certificatesRoundTripThroughPEM() throws {
        let pem = try Self.authority.certificatePEM
        let reloaded = try ClusterCertificateAuthority(certificatePEM: pem, privateKeyPEM: Self.authority.privateKeyPEM)
        let issued = try reloaded.issueNodeCertificate(nodeID: 42, hosts: ["10.0.0.5", "::1", "node42.example"])
        #expect(issued.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        let other = try ClusterCertificateAuthority(clusterName: "x")
        #expect(throws: (any Error).self) {
            try ClusterCertificateAuthority(certificatePEM: pem, privateKeyPEM: other.privateKeyPEM)
        }
    }
}
