import Foundation
import Raft
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Seeded fault simulation of whole Raft groups (see `RaftSimulator`). `FERRY_RAFT_SEED=<n>` replays one
/// seed and prints its trace; `FERRY_RAFT_SEEDS=<count>` runs seeds `0..<count` instead of the default
/// 1,000; `FERRY_RAFT_STEPS=<steps>` makes each schedule's faulty phase longer than the default 300 steps.
@Suite struct SimulationTests {
    static let defaultSeedCount = 1_000
    static let defaultSteps = 300
    static let chunkCount = 8

    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var steps: Int { environment["FERRY_RAFT_STEPS"].flatMap(Int.init) ?? defaultSteps }

    /// 1,000 schedules (3 and 5 voters, with and without membership changes), in chunks that run in
    /// parallel. Each chunk prints its schedules, steps and time.
    @Test(arguments: 0..<chunkCount)
    func randomSchedules(chunk: Int) throws {
        if let replay = Self.environment["FERRY_RAFT_SEED"].flatMap(UInt64.init) {
            if chunk == 0 { Self.replay(seed: replay) }
            return
        }
        let count = Self.environment["FERRY_RAFT_SEEDS"].flatMap(Int.init) ?? Self.defaultSeedCount
        SimulationCrashReporter.install()
        let clock = ContinuousClock()
        let start = clock.now
        var totals = RaftSimulationReport()
        var schedules = 0
        for seed in stride(from: UInt64(chunk), to: UInt64(count), by: Self.chunkCount) {
            SimulationCrashReporter.running(seed, slot: chunk)
            var simulator = RaftSimulator(options: .mixed(seed: seed, steps: Self.steps))
            do {
                totals.add(try simulator.run())
                schedules += 1
            } catch {
                Issue.record(Comment(rawValue: Self.explain(error)))
            }
        }
        SimulationCrashReporter.running(nil, slot: chunk)
        print(
            "Raft simulation chunk \(chunk): \(schedules) schedules, \(totals.steps) steps in \(clock.now - start); "
                + totals.summary)
    }

    /// The failure, how to replay it, and the end of its trace (the seed run again with tracing on).
    static func explain(_ failure: RaftSimulationFailure) -> String {
        var options = RaftSimulationOptions.mixed(seed: failure.seed, steps: steps)
        options.tracing = true
        var simulator = RaftSimulator(options: options)
        var trace: [String] = []
        do { _ = try simulator.run() } catch { trace = error.trace }
        let stepsHint = steps == defaultSteps ? "" : " FERRY_RAFT_STEPS=\(steps)"
        return "\(failure)\(stepsHint)\n\(options)\n" + trace.suffix(60).joined(separator: "\n")
    }

    /// Runs one seed with tracing; prints the whole trace.
    static func replay(seed: UInt64) {
        var options = RaftSimulationOptions.mixed(seed: seed, steps: steps)
        options.tracing = true
        var simulator = RaftSimulator(options: options)
        do {
            let report = try simulator.run()
            print("\(options)\n" + simulator.trace.joined(separator: "\n") + "\n" + report.summary)
        } catch {
            print(error.trace.joined(separator: "\n"))
            Issue.record(Comment(rawValue: "\(error)\n\(options)\n" + error.trace.suffix(60).joined(separator: "\n")))
        }
    }

    /// The same seed gives the same run, event for event.
    @Test func aSeedReplaysExactly() throws {
        for seed: UInt64 in [1, 2, 3, 4] {
            var options = RaftSimulationOptions.mixed(seed: seed, steps: 200)
            options.tracing = true
            var first = RaftSimulator(options: options)
            var second = RaftSimulator(options: options)
            let firstReport = try first.run()
            let secondReport = try second.run()
            #expect(firstReport == secondReport)
            #expect(first.trace == second.trace)
            #expect(first.summary == second.summary)
        }
    }
}

extension RaftSimulationReport {
    mutating func add(_ other: RaftSimulationReport) {
        steps += other.steps
        livenessTicks = max(livenessTicks, other.livenessTicks)
        messagesSent += other.messagesSent
        messagesDelivered += other.messagesDelivered
        messagesDropped += other.messagesDropped
        messagesDuplicated += other.messagesDuplicated
        crashes += other.crashes
        crashesDuringReady += other.crashesDuringReady
        restarts += other.restarts
        partitions += other.partitions
        proposalsTaken += other.proposalsTaken
        proposalsRefused += other.proposalsRefused
        proposalsAcknowledged += other.proposalsAcknowledged
        leadersElected += other.leadersElected
        membershipChangesProposed += other.membershipChangesProposed
        membershipChangesRefused += other.membershipChangesRefused
        leadershipTransfers += other.leadershipTransfers
        snapshotsTaken += other.snapshotsTaken
        snapshotsInstalled += other.snapshotsInstalled
    }

    var summary: String {
        "messages \(messagesSent) sent \(messagesDelivered) delivered \(messagesDropped) dropped "
            + "\(messagesDuplicated) duplicated; crashes \(crashes) (\(crashesDuringReady) during a Ready), "
            + "restarts \(restarts), partitions \(partitions); proposals \(proposalsTaken) taken "
            + "\(proposalsRefused) refused \(proposalsAcknowledged) acknowledged; leaders \(leadersElected); "
            + "membership changes \(membershipChangesProposed) (\(membershipChangesRefused) refused); "
            + "transfers \(leadershipTransfers); snapshots \(snapshotsTaken) taken \(snapshotsInstalled) "
            + "installed; slowest convergence \(livenessTicks) ticks"
    }
}

/// A `precondition` failing inside `Raft` kills the test process: this prints the seeds being simulated
/// when that happens, so the failure can still be replayed.
enum SimulationCrashReporter {
    static let slotCount = 64
    nonisolated(unsafe) static let seeds: UnsafeMutablePointer<Int64> = {
        let pointer = UnsafeMutablePointer<Int64>.allocate(capacity: slotCount)
        pointer.initialize(repeating: -1, count: slotCount)
        return pointer
    }()

    static func running(_ seed: UInt64?, slot: Int) {
        seeds[slot % slotCount] = seed.map { Int64(bitPattern: $0) } ?? -1
    }

    static func install() {
        #if canImport(Glibc)
            _ = seeds
            for signalNumber in [SIGILL, SIGTRAP, SIGABRT, SIGSEGV] {
                signal(signalNumber) { signalNumber in
                    // Best effort: the process is going down anyway.
                    let running = (0..<SimulationCrashReporter.slotCount).map { SimulationCrashReporter.seeds[$0] }
                        .filter { $0 >= 0 }
                    if !running.isEmpty {
                        let text =
                            "\nRaft simulation crashed (signal \(signalNumber)) while running seeds \(running): "
                            + "replay one with FERRY_RAFT_SEED=<seed>\n"
                        _ = text.withCString { write(2, $0, strlen($0)) }
                    }
                    signal(signalNumber, SIG_DFL)
                    raise(signalNumber)
                }
            }
        #endif
    }
}
