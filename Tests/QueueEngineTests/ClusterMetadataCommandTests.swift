import Placement
import Testing

@testable import QueueEngine

/// The engine of the metadata group holds the cluster's configuration: `initializeCluster` (the first in
/// the log wins) and `changeCluster`, their log entry encoding, and the configuration in the snapshot.
@Suite("Cluster configuration commands")
struct ClusterMetadataCommandTests {
    static let metadata = SampleCommands.metadata

    static func initializedEngine() -> QueueEngine {
        var engine = QueueEngine(configuration: codecTestConfiguration)
        #expect(engine.apply(.initializeCluster(metadata), timestampMilliseconds: 1_000) == .done)
        return engine
    }

    static func entry(_ command: Command) -> [UInt8] {
        LoggedCommand(command: command, timestampMilliseconds: 1_000).encoded()
    }

    static func decodeError(_ bytes: [UInt8]) -> EngineCodecError? {
        do {
            _ = try LoggedCommand(decoding: bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func aSecondInitializeIsIgnored() throws {
        var engine = Self.initializedEngine()
        #expect(engine.clusterMetadata == Self.metadata)
        let other = try ClusterMetadata(
            shardCount: 2, replicationFactor: 1,
            nodes: [NodeRecord(id: 8, peerAddress: "8.example:7000", sqsAddress: "8.example:9324", state: .active)])
        #expect(engine.apply(.initializeCluster(other), timestampMilliseconds: 2_000) == .done)
        #expect(engine.clusterMetadata == Self.metadata)
    }

    @Test func aQueueShardHoldsNoConfiguration() {
        var harness = EngineHarness(engine: QueueEngine(configuration: codecTestConfiguration), now: 1_000)
        harness.create("q")
        #expect(harness.engine.clusterMetadata == nil)
    }

    @Test func changesApplyInLogOrder() throws {
        var engine = Self.initializedEngine()
        let version = Self.metadata.version
        let changes: [MetadataCommand] = [
            .addNode(id: 6, peerAddress: "6.example:7000", sqsAddress: "6.example:9324"),
            .activate(6),
            .setTargets([ShardTarget(shard: ShardID(0), voters: [6, 1])]),
            .reportVoters(shard: ShardID(0), voters: [6, 1], index: 40),
        ]
        for change in changes {
            #expect(engine.apply(.changeCluster(change), timestampMilliseconds: 2_000) == .done, "\(change)")
        }
        let metadata = try #require(engine.clusterMetadata)
        #expect(metadata.nodes[6]?.state == .active)
        #expect(metadata.shards[0].target == [6, 1] && metadata.shards[0].voters == [6, 1])
        #expect(metadata.shards[0].reportedIndex == 40)
        #expect(metadata.version == version + 4)
        // An older report is not refused, and changes nothing.
        let older = MetadataCommand.reportVoters(shard: ShardID(0), voters: [1, 2], index: 39)
        #expect(engine.apply(.changeCluster(older), timestampMilliseconds: 3_000) == .done)
        #expect(engine.clusterMetadata == metadata)
    }

    @Test func aRefusedChangeLeavesTheConfigurationAsItWas() throws {
        var engine = Self.initializedEngine()
        let before = engine.snapshot()
        let refused: [MetadataCommand] = [
            .addNode(id: 0, peerAddress: "0.example:7000", sqsAddress: "0.example:9324"),
            .addNode(id: 1, peerAddress: "elsewhere:7000", sqsAddress: "elsewhere:9324"),
            .addNode(id: 7, peerAddress: "not an address", sqsAddress: "7.example:9324"),
            .activate(9),
            .removeNode(44),
            .setTargets([ShardTarget(shard: ShardID(0), voters: [1]), ShardTarget(shard: ShardID(0), voters: [200])]),
            .setTargets([ShardTarget(shard: ShardID(5), voters: [1])]),
            .reportVoters(shard: ShardID(2), voters: [1, 1], index: 500),
        ]
        for change in refused {
            let result = engine.apply(.changeCluster(change), timestampMilliseconds: 1_000)
            guard case .failure(let error) = result else {
                Issue.record("\(change) answered \(result)")
                continue
            }
            #expect(error.code == .invalidParameterValue, "\(change)")
            #expect(!error.message.isEmpty)
            #expect(engine.clusterMetadata == Self.metadata, "\(change)")
        }
        #expect(engine.snapshot() == before)
    }

    @Test func aChangeBeforeInitializeIsUnavailable() {
        var engine = QueueEngine(configuration: codecTestConfiguration)
        let result = engine.apply(.changeCluster(.activate(1)), timestampMilliseconds: 1_000)
        guard case .failure(let error) = result else {
            Issue.record("answered \(result)")
            return
        }
        #expect(error.code == .serviceUnavailable)
        #expect(error.message == "The cluster configuration is not initialized yet. Retry the request.")
        #expect(engine.clusterMetadata == nil)
    }

    @Test func everyCommandRoundTrips() throws {
        let commands = SampleCommands.all.filter {
            switch $0 {
            case .initializeCluster, .changeCluster: true
            default: false
            }
        }
        let kinds = commands.compactMap { command -> MetadataCommandTag? in
            guard case .changeCluster = command else { return nil }
            return MetadataCommandTag(rawValue: Self.entry(command)[4])  // after version, timestamp and tag
        }
        #expect(Set(kinds) == Set(MetadataCommandTag.allCases))
        for command in commands {
            let bytes = Self.entry(command)
            let decoded = try LoggedCommand(decoding: bytes)
            #expect(decoded.command == command)
            #expect(decoded.encoded() == bytes)
        }
    }

    /// Fixed encodings: a change here is a format change (logs and snapshots outlive builds).
    @Test func encodingIsStable() throws {
        let metadata = try ClusterMetadata(
            shardCount: 1, replicationFactor: 1,
            nodes: [NodeRecord(id: 2, peerAddress: "a:1", sqsAddress: "b:2", state: .joining)])
        let expected: [UInt8] =
            [2, 0xD0, 0x0F, 19, 1, 1, 1]  // version, timestamp 1000, tag; configuration version, shards, factor
            + [1, 2, 3, 0x61, 0x3A, 0x31, 3, 0x62, 0x3A, 0x32, 1]  // one node: 2, "a:1", "b:2", active
            + [1, 2]  // the cluster was created with node 2
            + [1, 2, 1, 2, 0, 1, 2, 1, 2, 0]  // shard 0 and the metadata group: voters [2], target [2], index 0
        #expect(Self.entry(.initializeCluster(metadata)) == expected)
        let report = Command.changeCluster(.reportVoters(shard: ShardID(1), voters: [2, 300], index: 7))
        #expect(Self.entry(report) == [2, 0xD0, 0x0F, 20, 5, 1, 2, 2, 0xAC, 0x02, 7])
    }

    @Test func truncatedOrGarbledEntriesThrow() {
        let commands = SampleCommands.all.filter {
            switch $0 {
            case .initializeCluster, .changeCluster: true
            default: false
            }
        }
        for command in commands {
            let bytes = Self.entry(command)
            let decodedPrefixes = (0..<bytes.count).filter { Self.decodeError(Array(bytes.prefix($0))) == nil }
            #expect(decodedPrefixes.isEmpty, "\(command): prefixes \(decodedPrefixes) of \(bytes.count) decoded")
        }
        var random = SeededGenerator(seed: 41)
        let encodings = commands.map(Self.entry)
        for iteration in 0..<20_000 {
            var bytes = random.pick(encodings)
            for _ in 0..<random.int(1...3) {
                bytes[random.int(3...(bytes.count - 1))] ^= UInt8.random(in: 1...255, using: &random)
            }
            guard let decoded = try? LoggedCommand(decoding: bytes) else { continue }
            guard decoded.encoded() == bytes else {
                Issue.record("iteration \(iteration): \(bytes) decoded to a value that encodes differently")
                return
            }
        }
    }

    /// Configurations the decoder refuses, each written with the primitives and otherwise valid.
    @Test func malformedConfigurationsThrow() {
        struct Node {
            var id: UInt64
            var peer = "p:1"
            var state: UInt8 = 1
        }
        func configuration(
            shardCount: UInt64 = 1, factor: UInt64 = 1, nodes: [Node] = [Node(id: 1)], initialNodes: [UInt64] = [1],
            voters: [UInt64] = [1]
        ) -> [UInt8] {
            var writer = BinaryWriter()
            writer.writeByte(LoggedCommand.formatVersion)
            writer.writeSigned(0)
            writer.writeByte(CommandTag.initializeCluster.rawValue)
            writer.writeVarint(UInt64(1))  // the configuration's version
            writer.writeVarint(shardCount)
            writer.writeVarint(factor)
            writer.writeCount(nodes.count)
            for node in nodes {
                writer.writeVarint(node.id)
                writer.writeString(node.peer)
                writer.writeString("s:\(node.id)")
                writer.writeByte(node.state)
            }
            writer.writeCount(initialNodes.count)
            for id in initialNodes { writer.writeVarint(id) }
            for _ in 0...min(shardCount, 8) {
                for _ in 0..<2 {
                    writer.writeCount(voters.count)
                    for voter in voters { writer.writeVarint(voter) }
                }
                writer.writeVarint(UInt64(0))  // reported at index 0
            }
            return writer.bytes
        }
        #expect(Self.decodeError(configuration()) == nil)
        #expect(Self.decodeError(configuration(nodes: [Node(id: 1), Node(id: 2, state: 3)], voters: [2, 1])) == nil)
        #expect(Self.decodeError(configuration(initialNodes: [])) == nil)
        let longAddress = String(repeating: "a", count: ClusterMetadata.Limits.addressLengthMax - 1) + ":1"
        let refused: [(String, [UInt8], EngineCodecError.Code)] = [
            ("shard count 0", configuration(shardCount: 0), .malformed),
            ("shard count past the limit", configuration(shardCount: 4_097), .malformed),
            ("a group missing", Array(configuration(shardCount: 2).dropLast(5)), .truncated),
            ("replication factor 0", configuration(factor: 0), .malformed),
            ("replication factor 8", configuration(factor: 8), .malformed),
            ("node state 4", configuration(nodes: [Node(id: 1, state: 4)]), .malformed),
            ("node id 0", configuration(nodes: [Node(id: 0)], voters: [0]), .malformed),
            ("nodes out of order", configuration(nodes: [Node(id: 2), Node(id: 1)]), .malformed),
            ("a node twice", configuration(nodes: [Node(id: 1), Node(id: 1)]), .malformed),
            ("an address too long", configuration(nodes: [Node(id: 1, peer: longAddress)]), .malformed),
            (
                "initial nodes out of order", configuration(nodes: [Node(id: 1), Node(id: 2)], initialNodes: [2, 1]),
                .malformed
            ),
            ("initial node 0", configuration(initialNodes: [0]), .malformed),
            ("a voter not a node", configuration(voters: [2]), .malformed),
            ("a voter twice", configuration(voters: [1, 1]), .malformed),
            ("15 voters", configuration(voters: Array(repeating: 1, count: 15)), .malformed),
            ("a byte left over", configuration() + [0], .malformed),
        ]
        for (name, bytes, code) in refused {
            #expect(Self.decodeError(bytes)?.code == code, "\(name)")
        }
        // A count of nodes or groups larger than the bytes left is refused before anything is allocated.
        let hugeNodeCount: [UInt8] = [2, 0, 19, 1, 1, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
        #expect(Self.decodeError(hugeNodeCount)?.code == .truncated)
        let manyGroups: [UInt8] = [2, 0, 19, 1, 0x80, 0x20, 1, 0, 0]
        #expect(Self.decodeError(manyGroups)?.code == .truncated)
        #expect(
            Self.decodeError([2, 0, 20, 0, 1])
                == EngineCodecError(.malformed, "unknown cluster configuration change 0", offset: 4))
        #expect(Self.decodeError([2, 0, 20, 6, 1])?.code == .malformed)
        #expect(Self.decodeError([2, 0, 20, 5, 0, 15] + Array(repeating: 1, count: 15) + [0])?.code == .malformed)
    }

    @Test func aSnapshotCarriesTheConfiguration() throws {
        var harness = EngineHarness(engine: Self.initializedEngine(), now: 2_000)
        harness.create("q")
        harness.send("q", "m")
        let bytes = harness.engine.snapshot()
        #expect(bytes[4] == 4)
        let restored = try QueueEngine(configuration: codecTestConfiguration, snapshot: bytes)
        #expect(restored.clusterMetadata == Self.metadata)
        #expect(restored.snapshot() == bytes)
        // Truncations of the body behind a valid checksum throw.
        let bodyEnd = bytes.count - QueueEngine.snapshotChecksumBytes
        let decodedPrefixes = (5..<bodyEnd).filter { cut in
            SnapshotTests.restoreError(
                SnapshotTests.resealed(Array(bytes.prefix(cut)) + Array(repeating: 0, count: 32))) == nil
        }
        #expect(decodedPrefixes.isEmpty, "body prefixes \(decodedPrefixes) of \(bodyEnd) bytes decoded")
    }

    @Test func aSnapshotWithoutConfigurationRestoresNone() throws {
        let engine = QueueEngine(configuration: codecTestConfiguration)
        let bytes = engine.snapshot()
        // The presence byte is the last before the checksum.
        #expect(bytes[bytes.count - QueueEngine.snapshotChecksumBytes - 1] == 0)
        let restored = try QueueEngine(configuration: codecTestConfiguration, snapshot: bytes)
        #expect(restored.clusterMetadata == nil)
        #expect(restored.snapshot() == bytes)
    }

    /// Equal configurations reached by different paths (nodes added in another order) snapshot equally.
    @Test func theSnapshotIsCanonical() throws {
        let nodes = (1...3).map { id in
            NodeRecord(id: NodeID(id), peerAddress: "n\(id):7000", sqsAddress: "n\(id):9324", state: .active)
        }
        var engines: [QueueEngine] = []
        for order in [[1, 2, 3], [3, 1, 2]] {
            var engine = QueueEngine(configuration: codecTestConfiguration)
            let metadata = try ClusterMetadata(
                shardCount: 2, replicationFactor: 2, nodes: order.map { nodes[$0 - 1] })
            _ = engine.apply(.initializeCluster(metadata), timestampMilliseconds: 1_000)
            engines.append(engine)
        }
        #expect(engines[0].clusterMetadata == engines[1].clusterMetadata)
        #expect(engines[0].snapshot() == engines[1].snapshot())
    }
}
