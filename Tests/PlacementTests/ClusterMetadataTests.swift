import Foundation
import Placement
import Testing

/// The replicated cluster configuration and its rebalancer: nodes join, drain and leave; each shard's
/// voters are pointed where consistent hashing puts them, a bounded number of shards at a time.
@Suite struct ClusterMetadataTests {
    static func node(_ id: NodeID, _ state: NodeState = .active) -> NodeRecord {
        NodeRecord(id: id, peerAddress: "127.0.0.1:\(7000 + id)", sqsAddress: "127.0.0.1:\(9000 + id)", state: state)
    }

    static func cluster(nodes: ClosedRange<NodeID> = 1...3, shards: Int = 16) throws -> ClusterMetadata {
        try ClusterMetadata(shardCount: shards, replicationFactor: 3, nodes: nodes.map { node($0) })
    }

    /// Adds and activates `id`.
    static func add(_ id: NodeID, to metadata: inout ClusterMetadata) throws {
        let record = node(id)
        try metadata.apply(.addNode(id: id, peerAddress: record.peerAddress, sqsAddress: record.sqsAddress))
        try metadata.apply(.activate(id))
    }

    /// Plays the shard leaders: every moving shard's voters become its target. Returns the replicas
    /// moved (nodes gained, over shards) and the most shards that moved at once.
    @discardableResult
    static func settle(_ metadata: inout ClusterMetadata, movingMax: Int = 4) throws -> (moved: Int, together: Int) {
        var moved = 0
        var together = 0
        for _ in 0..<10_000 {
            let targets = metadata.nextTargets(movingMax: movingMax)
            if !targets.isEmpty { try metadata.apply(.setTargets(targets)) }
            let moving = metadata.shards.indices.filter { metadata.shards[$0].isMoving }
            together = max(together, moving.count)
            guard let index = moving.first else { return (moved, together) }
            let replicas = metadata.shards[index]
            moved += Set(replicas.target).subtracting(replicas.voters).count
            try metadata.apply(
                .reportVoters(
                    shard: ShardID(UInt32(index)), voters: replicas.target, index: replicas.reportedIndex + 1))
        }
        Issue.record("the moves never settled")
        return (moved, together)
    }

    /// Every shard's voters are where placement over the active nodes puts them.
    static func expectPlaced(_ metadata: ClusterMetadata, sourceLocation: SourceLocation = #_sourceLocation) {
        let placement = metadata.placement!
        for shard in placement.shards {
            let replicas = metadata.replicas(of: shard)
            #expect(Set(replicas.voters) == Set(placement.replicas(of: shard)), sourceLocation: sourceLocation)
            #expect(!replicas.isMoving, sourceLocation: sourceLocation)
        }
    }

    /// The metadata group (numbered after the shards) is placed, moved and reported like a shard, and every
    /// group remembers the voters it started with.
    @Test func theMetadataGroupMovesLikeAShardAndGenesisStaysPut() throws {
        var metadata = try Self.cluster(shards: 8)
        let group = metadata.metadataGroup
        #expect(group == ShardID(8))
        #expect(metadata.shards.count == 9)
        let genesis = (0...8).map { metadata.genesisVoters(of: ShardID(UInt32($0))) }
        #expect(Set(metadata.replicas(of: group).voters) == Set(metadata.placement!.replicas(of: group)))
        try Self.add(4, to: &metadata)
        try Self.add(5, to: &metadata)
        try metadata.apply(.removeNode(1))
        try Self.settle(&metadata)
        #expect(metadata.nodes[1]?.state == .removed)
        #expect(Set(metadata.replicas(of: group).voters) == Set(metadata.placedReplicas(of: group)))
        #expect(!metadata.replicas(of: group).voters.contains(1))
        #expect((0...8).map { metadata.genesisVoters(of: ShardID(UInt32($0))) } == genesis)
        #expect(metadata.initialNodes == [1, 2, 3])
    }

    @Test func aNewClusterIsPlacedAndSettled() throws {
        let metadata = try Self.cluster()
        #expect(metadata.activeNodes == [1, 2, 3])
        #expect(metadata.version == 1)
        #expect(metadata.nextTargets(movingMax: 4).isEmpty)
        #expect(metadata.replicasToMove == 0)
        Self.expectPlaced(metadata)
        #expect(throws: PlacementError.self) { try ClusterMetadata(shardCount: 0, replicationFactor: 3, nodes: []) }
    }

    @Test func aJoiningNodeGetsReplicasOnlyOnceActiveAndOnlyThoseItWins() throws {
        var metadata = try Self.cluster(nodes: 1...4, shards: 64)
        let before = metadata
        try metadata.apply(.addNode(id: 5, peerAddress: "10.0.0.5:7000", sqsAddress: "10.0.0.5:9324"))
        #expect(metadata.nodes[5]?.state == .joining)
        #expect(metadata.nextTargets(movingMax: 64).isEmpty, "a joining node gets nothing")
        try metadata.apply(.activate(5))
        let expected = metadata.replicasToMove
        // Rendezvous hashing: node 5 wins about replicationFactor/N of the 64 × 3 replicas, and only those move.
        #expect((20...60).contains(expected), "\(expected) replicas to move")
        let (moved, _) = try Self.settle(&metadata, movingMax: 64)
        #expect(moved == expected)
        Self.expectPlaced(metadata)
        for shard in metadata.placement!.shards {
            let gained = Set(metadata.replicas(of: shard).voters).subtracting(before.replicas(of: shard).voters)
            #expect(gained.isSubset(of: [5]), "\(shard) gained \(gained)")
        }
    }

    @Test func atMostMovingMaxShardsMoveAtOnce() throws {
        var metadata = try Self.cluster(nodes: 1...3, shards: 64)
        try Self.add(4, to: &metadata)
        try Self.add(5, to: &metadata)
        let first = metadata.nextTargets(movingMax: 4)
        #expect(first.count == 4)
        try metadata.apply(.setTargets(first))
        #expect(metadata.nextTargets(movingMax: 4).isEmpty, "four shards are moving")
        let done = first[0]
        try metadata.apply(.reportVoters(shard: done.shard, voters: done.voters, index: 7))
        #expect(metadata.nextTargets(movingMax: 4).count == 1)
        let (_, together) = try Self.settle(&metadata, movingMax: 4)
        #expect(together <= 4)
        Self.expectPlaced(metadata)
    }

    @Test func aDrainingNodeLosesEveryReplicaThenIsRemoved() throws {
        var metadata = try Self.cluster(nodes: 1...5, shards: 32)
        try metadata.apply(.removeNode(2))
        #expect(metadata.nodes[2]?.state == .draining)
        let held = metadata.shards(involving: 2).count
        #expect(held > 0)
        let (moved, _) = try Self.settle(&metadata)
        #expect(moved == held, "only the replicas node 2 held move")
        #expect(metadata.nodes[2]?.state == .removed)
        #expect(metadata.shards(involving: 2).isEmpty)
        Self.expectPlaced(metadata)
        #expect(throws: MetadataError.self) {
            try metadata.apply(.addNode(id: 2, peerAddress: "10.0.0.2:7000", sqsAddress: "10.0.0.2:9324"))
        }
    }

    /// A dead node is removed, then a fresh one added: the shards that lost a replica are moved first.
    @Test func shardsWithAReplicaOnARemovedNodeMoveFirst() throws {
        var metadata = try Self.cluster(nodes: 1...4, shards: 32)
        try Self.add(5, to: &metadata)
        try metadata.apply(.removeNode(3))
        let atRisk = Set(metadata.shards(involving: 3))
        let first = metadata.nextTargets(movingMax: atRisk.count)
        #expect(Set(first.map(\.shard)) == atRisk, "the shards on node 3 first")
        try Self.settle(&metadata)
        Self.expectPlaced(metadata)
        #expect(metadata.nodes[3]?.state == .removed)
    }

    @Test func aMovingShardIsRetargetedWhenPlacementChangesAgain() throws {
        var metadata = try Self.cluster(nodes: 1...3, shards: 16)
        try Self.add(4, to: &metadata)
        try metadata.apply(.setTargets(metadata.nextTargets(movingMax: 16)))
        let moving = metadata.shards.indices.filter { metadata.shards[$0].isMoving }
        #expect(!moving.isEmpty)
        try metadata.apply(.removeNode(4))  // the operator changes their mind
        let retargeted = metadata.nextTargets(movingMax: 1)
        #expect(Set(retargeted.map { Int($0.shard.rawValue) }) == Set(moving), "every moving shard, whatever the bound")
        try metadata.apply(.setTargets(retargeted))
        #expect(metadata.shards.allSatisfy { !$0.isMoving })
        #expect(metadata.nodes[4]?.state == .removed)
    }

    @Test func invalidCommandsAreRefusedAndChangeNothing() throws {
        var metadata = try Self.cluster()
        let original = metadata
        let refused: [(MetadataCommand, String)] = [
            (.addNode(id: 0, peerAddress: "a:1", sqsAddress: "a:2"), "reserved"),
            (.addNode(id: 1, peerAddress: "a:1", sqsAddress: "a:2"), "exists"),
            (.addNode(id: 9, peerAddress: "127.0.0.1:7001", sqsAddress: "a:2"), "already uses"),
            (.addNode(id: 9, peerAddress: "a", sqsAddress: "a:2"), "host:port"),
            (.addNode(id: 9, peerAddress: "a:70000", sqsAddress: "a:2"), "host:port"),
            (.addNode(id: 9, peerAddress: "a b:1", sqsAddress: "a:2"), "host:port"),
            (.addNode(id: 9, peerAddress: String(repeating: "a", count: 300) + ":1", sqsAddress: "a:2"), "host:port"),
            (.activate(9), "not in the cluster"),
            (.removeNode(9), "not in the cluster"),
            (.setTargets([ShardTarget(shard: ShardID(99), voters: [1])]), "does not exist"),
            (.setTargets([ShardTarget(shard: ShardID(0), voters: [1, 2, 3, 1])]), "distinct"),
            (.setTargets([ShardTarget(shard: ShardID(0), voters: [])]), "distinct"),
            (.setTargets([ShardTarget(shard: ShardID(0), voters: [1, 2, 7])]), "not active"),
            (.reportVoters(shard: ShardID(0), voters: [1, 8], index: 1), "distinct nodes"),
            // Shard 16 of 16 is the metadata group; 17 does not exist.
            (.reportVoters(shard: ShardID(17), voters: [1], index: 1), "does not exist"),
        ]
        for (command, reason) in refused {
            #expect(throws: MetadataError.self) { try metadata.apply(command) }
            do {
                try metadata.apply(command)
            } catch {
                #expect(error.description.contains(reason), "\(command): \(error)")
            }
            #expect(metadata == original, "\(command) changed the configuration")
        }
        // The last active node cannot be removed; a repeated add is not an error and changes nothing.
        var single = try ClusterMetadata(shardCount: 4, replicationFactor: 3, nodes: [Self.node(1)])
        #expect(throws: MetadataError.self) { try single.apply(.removeNode(1)) }
        try single.apply(.addNode(id: 2, peerAddress: "b:1", sqsAddress: "b:2"))
        let version = single.version
        try single.apply(.addNode(id: 2, peerAddress: "b:1", sqsAddress: "b:2"))
        #expect(single.version == version)
        try metadata.apply(.addNode(id: 9, peerAddress: "[::1]:7009", sqsAddress: "host-9.example:9324"))
        #expect(metadata.version == original.version + 1)
    }

    /// Reports from two leaders can arrive out of order: an older one changes nothing. Commands that change
    /// nothing leave the version; a removed node cannot be activated.
    @Test func staleReportsAndRepeatsChangeNothing() throws {
        var metadata = try Self.cluster(nodes: 1...4, shards: 8)
        try metadata.apply(.removeNode(4))
        let shard = try #require(metadata.shards(involving: 4).first)
        let target = metadata.nextTargets(movingMax: 8).first { $0.shard == shard }!
        try metadata.apply(.setTargets([target]))
        try metadata.apply(.reportVoters(shard: shard, voters: target.voters, index: 20))
        #expect(!metadata.replicas(of: shard).isMoving)
        let version = metadata.version
        let old = metadata.replicas(of: shard).voters.map { $0 == target.voters[0] ? 4 : $0 }
        try metadata.apply(.reportVoters(shard: shard, voters: old, index: 12))  // the joint step, late
        #expect(!metadata.replicas(of: shard).isMoving)
        try metadata.apply(.setTargets([]))
        try metadata.apply(.setTargets([target]))
        #expect(metadata.version == version)
        try Self.settle(&metadata)
        #expect(metadata.nodes[4]?.state == .removed)
        #expect(throws: MetadataError.self) { try metadata.apply(.activate(4)) }
    }

    @Test func theConfigurationRoundTripsThroughJSON() throws {
        var metadata = try Self.cluster(nodes: 1...4)
        try metadata.apply(.removeNode(4))
        try metadata.apply(.setTargets(metadata.nextTargets(movingMax: 2)))
        let decoded = try JSONDecoder().decode(ClusterMetadata.self, from: JSONEncoder().encode(metadata))
        #expect(decoded == metadata)
        let command = MetadataCommand.reportVoters(shard: ShardID(3), voters: [2, 1], index: 9)
        #expect(try JSONDecoder().decode(MetadataCommand.self, from: JSONEncoder().encode(command)) == command)
    }

    /// Seeded sequences of adds and removes, each settled (or interrupted by the next change): the end is
    /// always placed over the active nodes, removed nodes hold nothing, and the replicas moved are those
    /// consistent hashing implies at each step.
    @Test(arguments: 1...40) func anySequenceOfChangesEndsPlaced(seed: UInt64) throws {
        print("ClusterMetadataTests seed \(seed) (replay: swift test --filter ClusterMetadataTests)")
        var random = SeededRandom(seed: seed)
        var metadata = try Self.cluster(nodes: 1...3, shards: 32)
        var nextID: NodeID = 4
        for _ in 0..<8 {
            let active = metadata.activeNodes
            if active.count > 2, random.next() % 3 == 0 {
                try metadata.apply(.removeNode(active[Int(random.next() % UInt64(active.count))]))
            } else if active.count < 9 {
                try Self.add(nextID, to: &metadata)
                nextID += 1
            }
            let expected = metadata.replicasToMove
            if random.next() % 4 == 0 {
                // Interrupted: some targets set, one shard settled, then the next change.
                try metadata.apply(.setTargets(metadata.nextTargets(movingMax: 3)))
                continue
            }
            let moved = try Self.settle(&metadata, movingMax: 1 + Int(random.next() % 4))
            #expect(moved.moved == expected, "seed \(seed): \(moved.moved) moved, \(expected) implied")
            Self.expectPlaced(metadata)
        }
        try Self.settle(&metadata)
        Self.expectPlaced(metadata)
        for node in metadata.nodes.values where node.state != .active {
            #expect(node.state == .removed || node.state == .joining, "seed \(seed): \(node)")
            #expect(metadata.shards(involving: node.id).isEmpty, "seed \(seed): node \(node.id) still holds replicas")
        }
        for shard in metadata.placement!.shards {
            #expect(metadata.replicas(of: shard).voters.count == min(3, metadata.activeNodes.count))
        }
    }
}

/// SplitMix64, for seeded test schedules.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
