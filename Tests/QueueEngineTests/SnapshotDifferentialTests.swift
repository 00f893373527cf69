import HeapModule
import Testing

@testable import QueueEngine

/// Runs seeded random workloads; at random points snapshots the engine, restores the snapshot into another
/// engine, and then applies every following command to both: each result, each query answer, the indexes
/// and later snapshots must be the same. `FERRY_CODEC_SEED` replays one seed, `FERRY_CODEC_SEEDS` runs more.
@Suite("Snapshot differential")
struct SnapshotDifferentialTests {
    static let stepsPerSeed = 220
    static let snapshotsPerSeed = 6

    /// Kinds of results, and states at snapshot points, seen over all seeds: checks that the workload reaches
    /// the interesting paths.
    struct Coverage {
        var results: [String: Int] = [:]
        var snapshotStates: [String: Int] = [:]

        mutating func countSnapshot(of engine: QueueEngine) {
            var states: Set<String> = []
            if engine.moveTasks.values.contains(where: { $0.contains { $0.status == .running } }) {
                states.insert("running move task")
            }
            if !engine.deletedQueues.isEmpty { states.insert("recently deleted queue") }
            for queue in engine.queues.values {
                if queue.inFlightCount > 0 { states.insert(queue.isFifo ? "FIFO in flight" : "standard in flight") }
                if queue.delayedCount > 0 { states.insert("delayed") }
                if !queue.deduplication.isEmpty { states.insert("deduplication ids") }
                if !queue.receiveAttempts.isEmpty { states.insert("receive attempts") }
                if queue.lastPurgeTimestamp != nil { states.insert("purged") }
                if queue.timers.count > queue.inFlightCount + queue.delayedCount { states.insert("stale timers") }
                if queue.readyGroups.count > 0 { states.insert("ready groups") }
                if queue.messages.values.contains(where: { $0.deadLetterQueueSourceArn != nil }) {
                    states.insert("dead-lettered messages")
                }
            }
            for state in states { snapshotStates[state, default: 0] += 1 }
        }

        mutating func count(_ command: Command, _ result: CommandResult, in engine: QueueEngine) {
            if engine.availableMessageCount("dead") + engine.availableMessageCount("dead.fifo") > 0 {
                results["dead-letter queue holds messages", default: 0] += 1
            }
            let kind: String
            switch result {
            case .failure(let error): kind = "failure \(error.code.rawValue)"
            case .received(let messages): kind = messages.isEmpty ? "received none" : "received"
            case .sent(let entries): kind = entries.contains { $0.outcome.isSuccess } ? "sent" : "sent none"
            case .acknowledged(let entries):
                kind = entries.contains { $0.outcome.isSuccess } ? "acknowledged" : "ack none"
            case .moveTaskStarted: kind = "move task started"
            case .moveTaskCancelled: kind = "move task cancelled"
            case .imported: kind = "imported"
            case .queueCreated: kind = "queue created"
            case .done:
                if case .purgeQueue = command { kind = "purged" } else { kind = "done" }
            }
            results[kind, default: 0] += 1
        }
    }

    @Test func restoredEnginesBehaveLikeTheOriginal() throws {
        let seeds = CodecSeeds.seeds(defaultCount: 50, salt: 11)
        var coverage = Coverage()
        let start = ContinuousClock.now
        for seed in seeds {
            let passed = try runWorkload(seed: seed, coverage: &coverage)
            if !passed {
                Issue.record("snapshot differential failed: replay with FERRY_CODEC_SEED=\(seed)")
                return
            }
        }
        print(
            "snapshot differential: \(seeds.count) seeds × \(Self.stepsPerSeed) steps in \(ContinuousClock.now - start); "
                + "results \(coverage.results.sorted { $0.key < $1.key }); "
                + "snapshots with \(coverage.snapshotStates.sorted { $0.key < $1.key })")
        guard seeds.count > 1 else { return }
        let kinds = [
            "received", "acknowledged", "move task started", "move task cancelled", "purged",
            "failure PurgeQueueInProgress", "failure QueueDeletedRecently", "dead-letter queue holds messages",
        ]
        for kind in kinds {
            #expect(coverage.results[kind, default: 0] > 0, "the workload never produced \(kind)")
        }
        for state in [
            "running move task", "recently deleted queue", "FIFO in flight", "standard in flight", "delayed",
            "deduplication ids", "receive attempts", "purged", "stale timers", "ready groups", "dead-lettered messages",
        ] {
            #expect(coverage.snapshotStates[state, default: 0] > 0, "no snapshot was taken with \(state)")
        }
    }

    /// One seed's workload; false after recording the first difference. The engine restored from the first
    /// snapshot runs to the end; each later snapshot restores an engine that runs until the next one.
    func runWorkload(seed: UInt64, coverage: inout Coverage) throws -> Bool {
        let configuration = codecTestConfiguration
        var workload = WorkloadGenerator(seed: seed, configuration: configuration)
        var planner = SeededGenerator(seed: ~seed)
        let snapshotSteps = Set((0..<Self.snapshotsPerSeed).map { _ in planner.int(1...(Self.stepsPerSeed - 1)) })
        var original = QueueEngine(configuration: configuration)
        var restored: [QueueEngine] = []
        for step in 0..<Self.stepsPerSeed {
            let context = "seed \(seed) step \(step)"
            if snapshotSteps.contains(step) {
                let bytes = original.snapshot()
                for (index, replica) in restored.enumerated() where replica.snapshot() != bytes {
                    Issue.record("\(context): restored engine \(index) snapshots to other bytes than the original")
                    return false
                }
                let copy = try QueueEngine(configuration: configuration, snapshot: bytes)
                guard expectSame(original, copy, snapshot: bytes, context: context) else { return false }
                if restored.count == 2 { restored.removeLast() }
                restored.append(copy)
                coverage.countSnapshot(of: original)
            }
            let (command, timestamp) = workload.next()
            let expected = original.apply(command, timestampMilliseconds: timestamp)
            for index in restored.indices {
                let actual = restored[index].apply(command, timestampMilliseconds: timestamp)
                guard actual == expected else {
                    Issue.record(
                        "\(context): \(command) gave \(actual) on restored engine \(index), \(expected) on the original"
                    )
                    return false
                }
            }
            workload.observe(command, expected)
            coverage.count(command, expected, in: original)
        }
        let bytes = original.snapshot()
        for replica in restored {
            guard expectSame(original, replica, snapshot: bytes, context: "seed \(seed) end") else { return false }
        }
        return true
    }

    /// Same snapshot bytes, query answers and indexes; records the first difference.
    func expectSame(_ original: QueueEngine, _ replica: QueueEngine, snapshot: [UInt8], context: String) -> Bool {
        let replicaSnapshot = replica.snapshot()
        guard replicaSnapshot == snapshot else {
            Issue.record("\(context): snapshots differ \(firstDifference(snapshot, replicaSnapshot))")
            return false
        }
        let names = WorkloadGenerator.queueNames
        let expectedAnswers = EngineAnswers(original, names: names)
        let actualAnswers = EngineAnswers(replica, names: names)
        guard expectedAnswers == actualAnswers else {
            let difference = firstDifference(expectedAnswers.queues, actualAnswers.queues)
            Issue.record(
                "\(context): answers differ \(difference) clock \(expectedAnswers.clock)/\(actualAnswers.clock)")
            return false
        }
        let expectedIndexes = QueueIndexSummary.of(original)
        let actualIndexes = QueueIndexSummary.of(replica)
        for (name, expected) in expectedIndexes.sorted(by: { $0.key < $1.key }) where actualIndexes[name] != expected {
            Issue.record(
                "\(context): indexes of \(name) differ: expected \(expected), got \(String(describing: actualIndexes[name]))"
            )
            return false
        }
        return true
    }
}

extension BatchEntryResult.Outcome {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
