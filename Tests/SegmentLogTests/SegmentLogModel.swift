import Foundation
import TestSupport
import Testing

@testable import SegmentLog

// The model the seeded log test compares against: state, faults, statistics.

struct ModelLogState: Equatable, CustomStringConvertible {
    var snapshot = LogSnapshot(index: 0, term: 0, data: [])
    /// Entries `snapshot.index + 1 ... lastIndex`, contiguous.
    var entries: [LogEntry] = []
    var hardState = HardState()

    var firstIndex: UInt64 { snapshot.index + 1 }
    var lastIndex: UInt64 { entries.last?.index ?? snapshot.index }
    /// The highest term anywhere in the state.
    var topTerm: UInt64 { max(hardState.term, snapshot.term, entries.last?.term ?? 0) }

    func term(at index: UInt64) -> UInt64? {
        if index == snapshot.index { return snapshot.term }
        guard index > snapshot.index, index <= lastIndex else { return nil }
        return entries[Int(index - firstIndex)].term
    }

    /// `SegmentLog.entries(from:to:bytesMax:)` as documented.
    func entries(from start: UInt64, to end: UInt64, bytesMax: Int) -> [LogEntry] {
        var result: [LogEntry] = []
        var bytes = 0
        for entry in entries[Int(start - firstIndex)..<Int(end - firstIndex)] {
            if !result.isEmpty, bytes + entry.payload.count > bytesMax { break }
            result.append(entry)
            bytes += entry.payload.count
        }
        return result
    }

    func appending(_ newEntries: [LogEntry]) -> Self {
        guard let first = newEntries.first else { return self }
        var state = truncated(after: first.index - 1)
        state.entries += newEntries
        return state
    }

    func truncated(after lastKept: UInt64) -> Self {
        var state = self
        state.entries.removeAll { $0.index > lastKept }
        return state
    }

    func adopting(_ newSnapshot: LogSnapshot) -> Self {
        var state = self
        state.snapshot = newSnapshot
        state.entries.removeAll { $0.index <= newSnapshot.index }
        return state
    }

    func with(_ newHardState: HardState) -> Self {
        var state = self
        state.hardState = newHardState
        return state
    }

    var description: String {
        let terms = entries.isEmpty ? "" : " terms \(entries.first!.term)...\(entries.last!.term)"
        return
            "snapshot \(snapshot.index)/\(snapshot.term) (\(snapshot.data.count) B), entries \(firstIndex)...\(lastIndex)"
            + "\(terms), hard state term \(hardState.term) vote \(hardState.vote) commit \(hardState.commit)"
    }

    /// Where two states first differ, for failure messages.
    func difference(from other: Self) -> String {
        if snapshot != other.snapshot {
            return "snapshot \(snapshot.index)/\(snapshot.term) vs \(other.snapshot.index)/\(other.snapshot.term)"
        }
        if hardState != other.hardState { return "hard state \(hardState) vs \(other.hardState)" }
        if let mismatch = zip(entries, other.entries).first(where: { $0 != $1 }) {
            return "entry \(mismatch.0.index): term \(mismatch.0.term), \(mismatch.0.payload.count) B vs term "
                + "\(mismatch.1.term), \(mismatch.1.payload.count) B"
        }
        return entries.count == other.entries.count ? "none" : "last index \(lastIndex) vs \(other.lastIndex)"
    }
}

/// A fault injected into the next operation.
enum ModelFault: CustomStringConvertible {
    case fail(FakeFileSystem.Operation, errorNumber: Int32)
    case crashDuringWrite(keepBytes: Int)

    var description: String {
        switch self {
        case .fail(let operation, let errorNumber): "\(operation) fails with errno \(errorNumber)"
        case .crashDuringWrite(let keepBytes): "crash after \(keepBytes) bytes of the next write"
        }
    }
}

/// One step of a run.
indirect enum ModelOperation: CustomStringConvertible {
    case append([LogEntry], HardState?)
    case setHardState(HardState)
    case truncate(after: UInt64)
    /// A snapshot of the log's own committed entries, through `saveSnapshot` or `writeSnapshot` +
    /// `snapshotWritten`, then perhaps a compaction.
    case snapshot(LogSnapshot, written: Bool, compress: Bool, compactThrough: UInt64?)
    /// A snapshot received from a leader, then perhaps a hard state with the commit index moved to it.
    case install(LogSnapshot, HardState?)
    case compact(through: UInt64)
    case synchronize
    case reopen
    case crash
    case powerLoss(keepUnsyncedBytes: Int)
    /// Runs the operation with the fault armed, then crashes (or loses power) and reopens.
    case fault(ModelFault, ModelOperation, powerLossKeeping: Int?)
    case flipBit(path: String, byteOffset: Int, bit: Int)

    var description: String {
        switch self {
        case .append(let entries, let hardState):
            let range = entries.isEmpty ? "nothing" : "\(entries.first!.index)...\(entries.last!.index)"
            let terms = entries.isEmpty ? "" : " terms \(entries.first!.term)...\(entries.last!.term)"
            let bytes = entries.reduce(0) { $0 + $1.payload.count }
            return "append \(range)\(terms) (\(bytes) B)" + (hardState.map { " with \($0)" } ?? "")
        case .setHardState(let hardState): return "setHardState \(hardState)"
        case .truncate(let lastKept): return "truncate after \(lastKept)"
        case .snapshot(let snapshot, let written, let compress, let compactThrough):
            return "\(written ? "writeSnapshot+snapshotWritten" : "saveSnapshot") \(snapshot.index)/\(snapshot.term) "
                + "(\(snapshot.data.count) B\(compress ? "" : ", raw"))"
                + (compactThrough.map { ", compact through \($0)" } ?? "")
        case .install(let snapshot, let hardState):
            return "install snapshot \(snapshot.index)/\(snapshot.term) (\(snapshot.data.count) B)"
                + (hardState.map { ", then \($0)" } ?? "")
        case .compact(let through): return "compact through \(through)"
        case .synchronize: return "synchronize"
        case .reopen: return "close and reopen"
        case .crash: return "process crash and reopen"
        case .powerLoss(let keep): return "power loss keeping \(keep) unsynced bytes, reopen"
        case .fault(let fault, let operation, let keep):
            return "[\(fault)] \(operation), then "
                + (keep.map { "power loss keeping \($0) unsynced bytes" } ?? "crash")
        case .flipBit(let path, let byteOffset, let bit): return "flip bit \(bit) of byte \(byteOffset) in \(path)"
        }
    }

    /// The states the model passes through, one per record that may reach the disk alone; empty for an
    /// operation that changes nothing a reader sees.
    func steps(from state: ModelLogState) -> [ModelLogState] {
        switch self {
        case .append(let entries, let hardState):
            var steps: [ModelLogState] = []
            var state = state
            if !entries.isEmpty {
                state = state.appending(entries)
                steps.append(state)
            }
            if let hardState { steps.append(state.with(hardState)) }
            return steps
        case .setHardState(let hardState):
            return [state.with(hardState)]
        case .truncate(let lastKept):
            return lastKept < state.lastIndex ? [state.truncated(after: lastKept)] : []
        case .snapshot(let snapshot, _, _, _):
            return snapshot.index > state.snapshot.index ? [state.adopting(snapshot)] : []
        case .install(let snapshot, let hardState):
            guard snapshot.index > state.snapshot.index else { return [] }
            var steps: [ModelLogState] = []
            var state = state
            let lastTrusted = max(state.hardState.commit, state.snapshot.index)
            if state.term(at: snapshot.index) != snapshot.term, state.lastIndex > lastTrusted {
                state = state.truncated(after: lastTrusted)
                steps.append(state)
            }
            state = state.adopting(snapshot)
            steps.append(state)
            if let hardState { steps.append(state.with(hardState)) }
            return steps
        case .compact, .synchronize, .reopen, .crash, .powerLoss, .fault, .flipBit:
            return []
        }
    }
}

/// What a run exercised, to show the generator reaches every path.
struct ModelStatistics: Sendable, CustomStringConvertible {
    var operations = 0
    var conflictingAppends = 0
    var compressibleBatches = 0
    var snapshots = 0
    var installs = 0
    var segmentsCreated = 0
    var segmentsRemoved = 0
    var powerLossesThatLostWrites = 0
    var faultsThatLeftAPartialOperation = 0
    var bitFlipsDetected = 0
    var bitFlipsCutAsTorn = 0

    mutating func add(_ other: Self) {
        operations += other.operations
        conflictingAppends += other.conflictingAppends
        compressibleBatches += other.compressibleBatches
        snapshots += other.snapshots
        installs += other.installs
        segmentsCreated += other.segmentsCreated
        segmentsRemoved += other.segmentsRemoved
        powerLossesThatLostWrites += other.powerLossesThatLostWrites
        faultsThatLeftAPartialOperation += other.faultsThatLeftAPartialOperation
        bitFlipsDetected += other.bitFlipsDetected
        bitFlipsCutAsTorn += other.bitFlipsCutAsTorn
    }

    var description: String {
        "\(operations) operations, \(conflictingAppends) conflicting appends, \(compressibleBatches) compressible batches, "
            + "\(snapshots) snapshots, \(installs) installs, \(segmentsCreated) segments created, "
            + "\(segmentsRemoved) removed, \(powerLossesThatLostWrites) power losses lost writes, "
            + "\(faultsThatLeftAPartialOperation) faults left a partial operation, \(bitFlipsDetected) bit flips detected, \(bitFlipsCutAsTorn) in an unvouched last write cut as torn"
    }
}

/// A check that failed.
struct ModelMismatch: Error, CustomStringConvertible {
    var description: String
}

func modelRequire(_ condition: Bool, _ message: @autoclosure () -> String) throws(ModelMismatch) {
    if !condition { throw ModelMismatch(description: message()) }
}

// MARK: One seeded run

/// Drives one log on a fake disk through a seeded sequence of operations, checking it against the model
/// after each.
