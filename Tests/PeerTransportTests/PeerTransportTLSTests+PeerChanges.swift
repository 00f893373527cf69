import NIOCore
import Synchronization
import Testing

@testable import PeerTransport

/// Peers that change while the nodes run (`setPeers`), and nodes not yet among the peers, over real TLS
/// links on loopback. In the serialized suite, so that handshakes do not compete.
extension PeerTransportTLSTests {
    static func address(_ port: Int) -> PeerAddress { PeerAddress(host: "127.0.0.1", port: port) }

    /// Polls `condition` until it holds or `seconds` pass; whether it held.
    static func waitUntil(seconds: Double = 30, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    static func linkUps(_ node: Node, to peer: PeerNodeID) -> Int {
        node.inbox.linkChanges.withLock { $0.filter { $0.0 == peer && $0.1 }.count }
    }

    static func payloads(_ node: Node, from peer: PeerNodeID) -> [String] {
        node.inbox.frames.withLock { $0.filter { $0.0 == peer }.map { String(buffer: $0.1.payload) } }
    }

    static func frame(_ text: String) -> [PeerFrame] { [PeerFrame(kind: .raft, payload: ByteBuffer(string: text))] }

    @Test func aPeerAddedAfterStartIsLinkedAndFramesFlowBothWays() async throws {
        let ports = try Self.freePorts(2)
        let map: [UInt64: Int] = [1: ports[0], 2: ports[1]]
        // The idle timeout runs from the TCP connection, through the TLS handshake: debug-built handshakes
        // on a loaded 2-core machine (the whole suite at once) took longer than 1 s, and every link was
        // closed before its hello; with 5 s, a fresh-clone CI run still saw no link for 30 s. What this
        // test checks does not depend on either timeout.
        let one = try await Self.start(1, ports: map, knowing: [], idleMilliseconds: 30_000)
        let two = try await Self.start(2, ports: map, knowing: [], idleMilliseconds: 30_000)
        #expect(one.transport.dialLoopCount == 0)
        let everyone: [PeerNodeID: PeerAddress] = [1: Self.address(ports[0]), 2: Self.address(ports[1])]
        for _ in 0..<3 {
            one.transport.setPeers(everyone)
            two.transport.setPeers(everyone)
        }
        #expect(one.transport.peers == [2: Self.address(ports[1])], "this node's own entry is ignored")
        #expect(one.transport.dialLoopCount == 1, "one dial loop however often the peers are set")
        #expect(two.transport.dialLoopCount == 0, "the higher id does not dial")
        #expect(await Self.waitConnected(one, to: 2, seconds: 90))
        #expect(await Self.waitConnected(two, to: 1, seconds: 90))
        #expect(one.transport.send(Self.frame("1→2"), to: 2))
        #expect(two.transport.send(Self.frame("2→1"), to: 1))
        #expect(await two.inbox.waitFor(count: 1).first?.1.payload == ByteBuffer(string: "1→2"))
        #expect(await one.inbox.waitFor(count: 1).first?.1.payload == ByteBuffer(string: "2→1"))
        #expect(Self.linkUps(one, to: 2) == 1)
        await one.transport.shutdown()
        await two.transport.shutdown()
        #expect(await Self.waitUntil { one.transport.dialLoopCount == 0 }, "the dial loop ends on shutdown")
        one.transport.setPeers([3: Self.address(ports[1])])
        #expect(one.transport.dialLoopCount == 0, "none starts after shutdown")
    }

    /// The accepting side removes the dialer: the link closes at once, and the dialer's redials are refused.
    @Test func aRemovedPeerIsDisconnectedAndItsFramesAreNoLongerDelivered() async throws {
        let ports = try Self.freePorts(2)
        let map: [UInt64: Int] = [1: ports[0], 2: ports[1]]
        let one = try await Self.start(1, ports: map)
        let two = try await Self.start(2, ports: map)
        #expect(await Self.waitConnected(two, to: 1))
        #expect(await Self.waitConnected(one, to: 2))
        #expect(one.transport.send(Self.frame("before"), to: 2))
        #expect(await two.inbox.waitFor(count: 1).count == 1)
        two.transport.setPeers([:])
        #expect(!two.transport.isConnected(1), "disconnected as setPeers returns")
        #expect(!two.transport.send(Self.frame("to a removed peer"), to: 1))
        let lastChange = two.inbox.linkChanges.withLock { $0.last }
        #expect(lastChange?.0 == 1 && lastChange?.1 == false, "reported down")
        // Node 1 still has node 2 as a peer and redials; node 2 refuses each link, and what node 1 manages
        // to send on one before the refusal reaches it is never delivered.
        let refusedTwice = await Self.waitUntil {
            one.transport.send(Self.frame("after"), to: 2)
            return two.transport.refusedLinkCount >= 2
        }
        #expect(refusedTwice)
        #expect(!two.transport.isConnected(1))
        #expect(Self.payloads(two, from: 1) == ["before"])
        await one.transport.shutdown()
        await two.transport.shutdown()
    }

    /// The dialing side removes a peer: its dial loop ends and the link closes; added back, it links again.
    @Test func aRemovedPeerIsNoLongerDialedUntilAddedBack() async throws {
        let ports = try Self.freePorts(2)
        let map: [UInt64: Int] = [1: ports[0], 2: ports[1]]
        let one = try await Self.start(1, ports: map)
        let two = try await Self.start(2, ports: map)
        #expect(await Self.waitConnected(one, to: 2))
        one.transport.setPeers([:])
        #expect(!one.transport.isConnected(2))
        #expect(!one.transport.send(Self.frame("to a removed peer"), to: 2))
        #expect(await Self.waitUntil { one.transport.dialLoopCount == 0 })
        #expect(await Self.waitUntil { !two.transport.isConnected(1) })
        #expect(!two.transport.send(Self.frame("to a node that dropped us"), to: 1))
        one.transport.setPeers([2: Self.address(ports[1])])
        #expect(await Self.waitConnected(one, to: 2))
        #expect(await Self.waitConnected(two, to: 1))
        #expect(two.transport.send(Self.frame("again"), to: 1))
        #expect(await one.inbox.waitFor(count: 1).map { String(buffer: $0.1.payload) } == ["again"])
        await one.transport.shutdown()
        await two.transport.shutdown()
    }

    /// Node 2 moves: an instance at a new port. Node 1 closes its link to the old address and dials the new.
    @Test func anAddressChangeRedialsTheNewAddress() async throws {
        let ports = try Self.freePorts(3)
        let oldAddress: [UInt64: Int] = [1: ports[0], 2: ports[1]]
        let one = try await Self.start(1, ports: oldAddress)
        let twoBefore = try await Self.start(2, ports: oldAddress)
        let twoAfter = try await Self.start(2, ports: [1: ports[0], 2: ports[2]])
        #expect(await Self.waitConnected(one, to: 2))
        #expect(await Self.waitConnected(twoBefore, to: 1))
        one.transport.setPeers([2: Self.address(ports[2])])
        #expect(await Self.waitConnected(twoAfter, to: 1))
        #expect(await Self.waitUntil { !twoBefore.transport.isConnected(1) }, "the old link closed")
        #expect(await Self.waitUntil { Self.linkUps(one, to: 2) == 2 && one.transport.isConnected(2) })
        #expect(one.transport.dialLoopCount == 1)
        #expect(one.transport.send(Self.frame("moved"), to: 2))
        #expect(twoAfter.transport.send(Self.frame("from the new address"), to: 1))
        #expect(await twoAfter.inbox.waitFor(count: 1).map { String(buffer: $0.1.payload) } == ["moved"])
        #expect(await one.inbox.waitFor(count: 1).map { String(buffer: $0.1.payload) } == ["from the new address"])
        #expect(Self.payloads(twoBefore, from: 1).isEmpty)
        for node in [one, twoBefore, twoAfter] { await node.transport.shutdown() }
    }

    /// Node 5 knows no peers; node 1 dials it with a valid certificate and they talk both ways. Node 3
    /// dials it with node 4's certificate, claiming to be node 3: refused.
    @Test func aNodeNotAmongThePeersCanDialInWithAValidCertificate() async throws {
        let ports = try Self.freePorts(3)
        let map: [UInt64: Int] = [1: ports[0], 3: ports[1], 5: ports[2]]
        let five = try await Self.start(5, ports: map, knowing: [])
        let one = try await Self.start(1, ports: map, knowing: [5])
        #expect(await Self.waitConnected(five, to: 1))
        #expect(await Self.waitConnected(one, to: 5))
        #expect(five.transport.peers.isEmpty)
        #expect(five.transport.send(Self.frame("reply"), to: 1), "a link from a node not yet a peer carries replies")
        #expect(one.transport.send(Self.frame("hello from 1"), to: 5))
        #expect(await one.inbox.waitFor(count: 1).map { String(buffer: $0.1.payload) } == ["reply"])
        #expect(await five.inbox.waitFor(count: 1).map { String(buffer: $0.1.payload) } == ["hello from 1"])
        let impostor = try await Self.start(3, ports: map, knowing: [5], tls: try Self.material(3, claim: 4))
        #expect(await Self.waitUntil { five.transport.refusedLinkCount >= 1 })
        #expect(!five.transport.isConnected(3) && !five.transport.isConnected(4))
        for node in [one, five, impostor] { await node.transport.shutdown() }
    }

    /// Nodes whose peer lists differ (one has learned of a node the other has not) but whose facts agree
    /// link; a node with another shard count is still refused, both ways.
    @Test func helloFactsIgnoreTheNodeSetButNotTheShardCount() async throws {
        let ports = try Self.freePorts(3)
        let map: [UInt64: Int] = [1: ports[0], 2: ports[1], 3: ports[2]]
        let key = [UInt8](repeating: 1, count: 32)
        let facts = PeerClusterFacts(shardCount: 8, replicationFactor: 2, clusterKey: key)
        let one = try await Self.start(1, ports: map, facts: facts)
        let two = try await Self.start(2, ports: map, knowing: [1], facts: facts)
        let three = try await Self.start(
            3, ports: map, knowing: [1], facts: PeerClusterFacts(shardCount: 4, replicationFactor: 2, clusterKey: key))
        #expect(await Self.waitConnected(one, to: 2))
        #expect(await Self.waitConnected(two, to: 1))
        #expect(await Self.waitUntil { one.transport.refusedLinkCount >= 1 && three.transport.refusedLinkCount >= 1 })
        #expect(!one.transport.isConnected(3))
        #expect(!three.transport.isConnected(1))
        for node in [one, two, three] { await node.transport.shutdown() }
    }
}
