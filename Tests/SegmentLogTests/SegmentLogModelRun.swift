import Foundation
import TestSupport
import Testing

@testable import SegmentLog

// One seeded run of the model test: performs, checks and generates operations.

final class ModelRun {
    static let directory = "/ferry/log"

    let seed: UInt64
    let operations: Int
    let configuration: SegmentLogOptions
    /// How often an append carries a hard state: rarely, the current hard state may sit alone in an old
    /// segment that compaction removes.
    let hardStateWithAppendPercent: Int
    private var random: ModelRandom
    private let fileSystem = FakeFileSystem()
    private var log: SegmentLog?
    private var model = ModelLogState()
    /// The states a power loss may leave: the last one known durable first, then each written since.
    private var durable = [ModelLogState()]
    private var trace: [String] = []
    private(set) var statistics = ModelStatistics()

    init(seed: UInt64, operations: Int) {
        self.seed = seed
        self.operations = operations
        random = ModelRandom(seed: seed)
        var options = SegmentLogOptions()
        options.syncPolicy = random.percent(50) ? .always : .deferred
        options.segmentBytesMax = random.element([4096, 8192, 16384, 65536])
        options.compressionBytesMin = random.element([1, 256, 1024, 2048, .max])
        options.tailCacheBytesMax = random.element([0, 4096, 65536, 8 << 20])
        configuration = options
        hardStateWithAppendPercent = random.element([0, 5, 30, 60])
    }

    var description: String {
        "\(configuration.syncPolicy), segments of \(configuration.segmentBytesMax) B, compression from "
            + "\(configuration.compressionBytesMin) B, tail cache \(configuration.tailCacheBytesMax) B, hard state with "
            + "\(hardStateWithAppendPercent)% of appends"
    }

    /// Runs every operation; returns a report of the first failure, naming the seed and the operation.
    func run() -> String? {
        var number = 0
        do {
            log = try SegmentLog.open(directory: Self.directory, fileSystem: fileSystem, options: configuration)
            try check()
            for operationNumber in 1...operations {
                number = operationNumber
                let operation = nextOperation()
                trace.append("\(operationNumber): \(operation)")
                try perform(operation)
                try check()
                statistics.operations += 1
            }
            return nil
        } catch {
            return """
                SegmentLogModelTests: seed \(seed) failed at operation \(number) of \(operations) \
                (replay with FERRY_LOG_SEED=\(seed)): \(error)
                configuration: \(description)
                model: \(model)
                last operations:
                  \(trace.suffix(25).joined(separator: "\n  "))
                """
        }
    }

    // MARK: Performing

    private func perform(_ operation: ModelOperation) throws {
        switch operation {
        case .synchronize:
            try openLog().synchronize()
            durable = [model]
        case .reopen:
            try openLog().close()
            try reopen(expecting: [model])
        case .crash:
            fileSystem.restart()
            try reopen(expecting: [model])
        case .powerLoss(let keep):
            fileSystem.powerLoss(keepUnsyncedBytes: keep)
            let before = model
            try reopen(expecting: durable)
            if model != before { statistics.powerLossesThatLostWrites += 1 }
        case .fault(let fault, let inner, let keep):
            try performFaulted(inner, fault: fault, powerLossKeeping: keep)
        case .flipBit(let path, let byteOffset, let bit):
            try flip(path: path, byteOffset: byteOffset, bit: bit)
        case .append, .setHardState, .truncate, .snapshot, .install, .compact:
            let steps = operation.steps(from: model)
            let segmentsBefore = segmentFiles().count
            do {
                try execute(operation)
            } catch {
                throw ModelMismatch(description: "unexpected error: \(error)")
            }
            model = steps.last ?? model
            durable = configuration.syncPolicy == .always ? [model] : durable + steps
            try countSegments(before: segmentsBefore, operation: operation)
        }
    }

    /// Carries out a mutating operation as a driver would.
    private func execute(_ operation: ModelOperation) throws {
        let log = try openLog()
        switch operation {
        case .append(let entries, let hardState):
            try log.append(entries, hardState: hardState)
        case .setHardState(let hardState):
            try log.setHardState(hardState)
        case .truncate(let lastKept):
            try log.truncate(after: lastKept)
        case .snapshot(let snapshot, let written, let compress, let compactThrough):
            if written {
                // The driver contract: entries are durable before they are applied, so before a snapshot of them.
                if configuration.syncPolicy == .deferred { try log.synchronize() }
                try SegmentLog.writeSnapshot(
                    snapshot, directory: Self.directory, fileSystem: fileSystem, compress: compress)
                try log.snapshotWritten(index: snapshot.index, term: snapshot.term)
            } else {
                try log.saveSnapshot(snapshot)
            }
            if let compactThrough { try log.compact(through: compactThrough) }
        case .install(let snapshot, let hardState):
            try log.saveSnapshot(snapshot)
            if let hardState { try log.setHardState(hardState) }
        case .compact(let through):
            try log.compact(through: through)
        case .synchronize, .reopen, .crash, .powerLoss, .fault, .flipBit:
            preconditionFailure("\(operation) is not a log call")
        }
    }

    /// Arms a fault, runs the operation (which may fail anywhere), crashes or loses power, and reopens:
    /// the log must come back as one of the states the operation passes through, or as before it.
    private func performFaulted(_ operation: ModelOperation, fault: ModelFault, powerLossKeeping keep: Int?) throws {
        let steps = operation.steps(from: model)
        switch fault {
        case .fail(let fileOperation, let errorNumber): fileSystem.failNext(fileOperation, errorNumber: errorNumber)
        case .crashDuringWrite(let keepBytes): fileSystem.crashDuringNextWrite(keepBytes: keepBytes)
        }
        var failed = false
        do {
            try execute(operation)
        } catch {
            failed = true
        }
        let candidates: [ModelLogState]
        if let keep {
            fileSystem.powerLoss(keepUnsyncedBytes: keep)
            candidates = durable + steps
        } else {
            fileSystem.restart()
            candidates = [model] + steps
        }
        try reopen(expecting: candidates)
        if failed, let final = steps.last, model != final { statistics.faultsThatLeftAPartialOperation += 1 }
    }

    /// Flips a bit in a segment or the snapshot: the log must refuse to open, naming the file; flipped back,
    /// it must open as it was. The one exception is the last write of the last segment, which no later write
    /// vouches for as synced: damage there is indistinguishable from a write torn by power loss and is cut.
    private func flip(path: String, byteOffset: Int, bit: Int) throws {
        try openLog().close()
        let original = fileSystem.contents(path) ?? []
        fileSystem.flipBit(path: path, byteOffset: byteOffset, bit: bit)
        fileSystem.restart()
        do {
            let opened = try SegmentLog.open(directory: Self.directory, fileSystem: fileSystem, options: configuration)
            opened.close()
            let lastSegment = segmentFiles().max()
            try modelRequire(
                path == lastSegment && byteOffset >= Self.lastVouchedWriteStart(original),
                "a flipped bit at \(path):\(byteOffset) went unnoticed")
            fileSystem.setContents(path, original)
            fileSystem.restart()
            statistics.bitFlipsCutAsTorn += 1
            try reopen(expecting: [model])
            return
        } catch let error as SegmentLogError {
            guard case .corrupt(let file, let offset, _) = error else {
                throw ModelMismatch(description: "a flipped bit at \(path):\(byteOffset) gave \(error)")
            }
            try modelRequire(
                path.hasSuffix("/" + file) && offset <= byteOffset,
                "a flipped bit at \(path):\(byteOffset) was reported in \(file) at \(offset)")
        }
        statistics.bitFlipsDetected += 1
        fileSystem.flipBit(path: path, byteOffset: byteOffset, bit: bit)
        try reopen(expecting: [model])
    }

    /// Where the last record marked as starting a write after everything before it was synced begins
    /// (the segment header's end when none is): damage before it is provably in synced data.
    static func lastVouchedWriteStart(_ bytes: [UInt8]) -> Int {
        var offset = SegmentFile.headerByteCount
        var lastStart = offset
        bytes.withUnsafeBytes { buffer in
            while offset + LogRecordHeader.byteCount <= buffer.count,
                let header = try? LogRecordDecoder.header(UnsafeRawBufferPointer(rebasing: buffer[offset...]))
            {
                if header.flags & LogRecordHeader.startsWriteAfterSync != 0 { lastStart = offset }
                offset += LogRecordHeader.byteCount + header.storedLength
            }
        }
        return lastStart
    }

    /// Opens the log again; what it holds must be one of `candidates`, and becomes the model. What an open
    /// finds is durable from then on.
    private func reopen(expecting candidates: [ModelLogState]) throws {
        log = nil
        let reopened = try SegmentLog.open(directory: Self.directory, fileSystem: fileSystem, options: configuration)
        log = reopened
        let found = try observe(reopened)
        try modelRequire(
            found.hardState.commit <= found.lastIndex,
            "reopened with commit index \(found.hardState.commit) past the last index \(found.lastIndex)")
        guard candidates.contains(found) else {
            let closest = candidates.last!
            throw ModelMismatch(
                description: """
                    reopened log matches none of \(candidates.count) possible states
                      found:    \(found)
                      expected: \(candidates.map(\.description).joined(separator: "\n            "))
                      first difference from the last: \(found.difference(from: closest))
                    """)
        }
        model = found
        durable = [model]
    }

    private func openLog() throws(ModelMismatch) -> SegmentLog {
        guard let log else { throw ModelMismatch(description: "no open log") }
        return log
    }

    // MARK: Checking

    /// Reads the whole log back.
    private func observe(_ log: SegmentLog) throws -> ModelLogState {
        var state = ModelLogState()
        if let snapshot = try log.loadSnapshot() { state.snapshot = snapshot }
        try modelRequire(
            state.snapshot.index == log.snapshotIndex && state.snapshot.term == log.snapshotTerm,
            "loadSnapshot gives \(state.snapshot.index)/\(state.snapshot.term), the log says "
                + "\(log.snapshotIndex)/\(log.snapshotTerm)")
        state.entries = try log.entries(from: log.firstIndex, to: log.lastIndex + 1)
        state.hardState = log.hardState
        return state
    }

    /// Every question a driver may ask, against the model.
    private func check() throws {
        let log = try openLog()
        try checkInternals(log)
        try modelRequire(
            log.firstIndex == model.firstIndex && log.lastIndex == model.lastIndex,
            "log holds \(log.firstIndex)...\(log.lastIndex), model \(model.firstIndex)...\(model.lastIndex)")
        try modelRequire(
            log.snapshotIndex == model.snapshot.index && log.snapshotTerm == model.snapshot.term,
            "snapshot \(log.snapshotIndex)/\(log.snapshotTerm), model \(model.snapshot.index)/\(model.snapshot.term)")
        try modelRequire(log.hardState == model.hardState, "hard state \(log.hardState), model \(model.hardState)")
        let lowest = model.snapshot.index == 0 ? 0 : model.snapshot.index - 1
        for index in lowest...(model.lastIndex + 1) {
            let term = log.term(at: index)
            try modelRequire(
                term == model.term(at: index),
                "term(at: \(index)) is \(term.map(String.init) ?? "nil"), "
                    + "model \(model.term(at: index).map(String.init) ?? "nil")")
        }
        let all = try log.entries(from: model.firstIndex, to: model.lastIndex + 1)
        let expected = model.entries
        try modelRequire(all == expected, "entries differ: \(ModelLogState(entries: all).difference(from: model))")
        for _ in 0..<2 where model.lastIndex >= model.firstIndex {
            let start = random.value(in: model.firstIndex...model.lastIndex + 1)
            let end = random.value(in: start...model.lastIndex + 1)
            let bytesMax = random.element([0, 1, 100, 1000, 5000, .max])
            let read = try log.entries(from: start, to: end, bytesMax: bytesMax)
            let wanted = model.entries(from: start, to: end, bytesMax: bytesMax)
            try modelRequire(
                read == wanted,
                "entries(from: \(start), to: \(end), bytesMax: \(bytesMax)) gave \(read.map(\.index)), "
                    + "model \(wanted.map(\.index))")
        }
        if model.snapshot.index > 0 {
            let snapshot = try log.loadSnapshot()
            try modelRequire(snapshot == model.snapshot, "loadSnapshot differs from the model's snapshot")
            try modelRequire(
                (try? log.entries(from: model.snapshot.index, to: model.lastIndex + 1)) == nil,
                "entries before firstIndex \(model.firstIndex) were served")
        } else {
            try modelRequire(try log.loadSnapshot() == nil, "loadSnapshot found a snapshot the model lacks")
        }
    }

    /// What the public API cannot show: the index is well formed, exactly the log's segments and its one
    /// snapshot are on disk (compaction leaks nothing), the tail cache agrees with the model, and with policy
    /// `always` nothing is left unsynced.
    private func checkInternals(_ log: SegmentLog) throws {
        let runs = log.index.runs
        try modelRequire(runs.allSatisfy { $0.count > 0 }, "an empty run in the index: \(runs)")
        try modelRequire(
            zip(runs, runs.dropFirst()).allSatisfy { $0.lastIndex + 1 == $1.firstIndex },
            "index runs are not contiguous: \(runs.map { "\($0.firstIndex)...\($0.lastIndex)" })")
        try modelRequire(
            runs.reduce(0) { $0 + $1.count } == log.index.terms.count
                && (runs.first?.firstIndex ?? log.index.storedFirstIndex) == log.index.storedFirstIndex,
            "index runs do not cover its \(log.index.terms.count) terms from \(log.index.storedFirstIndex)")
        let sequences = Set(log.segments.map(\.sequence))
        try modelRequire(
            runs.allSatisfy { sequences.contains($0.segmentSequence) }, "a run points at a removed segment")
        let onDisk = segmentFiles().map { String($0.dropFirst(Self.directory.count + 1)) }
        try modelRequire(
            onDisk == log.segments.map(\.name).sorted(),
            "segment files \(onDisk), the log holds \(log.segments.map(\.name))")
        let snapshotFiles = fileSystem.paths.filter { $0.hasPrefix(Self.directory + "/snapshot-") }
        let expectedSnapshot =
            model.snapshot.index == 0 ? [] : [Self.directory + "/" + SnapshotFile.name(index: model.snapshot.index)]
        try modelRequire(
            snapshotFiles == expectedSnapshot, "snapshot files \(snapshotFiles), expected \(expectedSnapshot)")
        let cache = Array(log.tailCache)
        try modelRequire(
            log.tailCacheBytes == cache.reduce(0) { $0 + $1.payload.count }
                && (log.tailCacheBytes <= configuration.tailCacheBytesMax || cache.count <= 1),
            "tail cache holds \(cache.count) entries, counted \(log.tailCacheBytes) B")
        try modelRequire(
            zip(cache, cache.dropFirst()).allSatisfy { $0.index + 1 == $1.index }
                && (cache.last?.index ?? 0) <= model.lastIndex,
            "tail cache \(cache.first?.index ?? 0)...\(cache.last?.index ?? 0) is not a run within the log")
        for entry in cache where entry.index >= model.firstIndex {
            try modelRequire(
                entry == model.entries[Int(entry.index - model.firstIndex)], "tail cache entry \(entry.index) is stale")
        }
        try modelRequire(
            configuration.syncPolicy == .deferred || log.unsyncedBytes == 0,
            "\(log.unsyncedBytes) B unsynced with policy always")
    }

    private func segmentFiles() -> [String] {
        fileSystem.paths.filter { $0.hasPrefix(Self.directory + "/segment-") }
    }

    /// Counts segments made and removed; once every entry is compacted away, at most the active segment and
    /// one just started for the rewritten hard state may remain.
    private func countSegments(before: Int, operation: ModelOperation) throws {
        let after = segmentFiles().count
        statistics.segmentsCreated += max(0, after - before)
        statistics.segmentsRemoved += max(0, before - after)
        let compactedThrough: UInt64?
        switch operation {
        case .compact(let through): compactedThrough = through
        case .snapshot(_, _, _, let through): compactedThrough = through
        default: compactedThrough = nil
        }
        if let compactedThrough, compactedThrough == model.lastIndex {
            try modelRequire(after <= 2, "\(after) segments remain after compacting every entry")
        }
    }

    // MARK: Generating

    private func nextOperation() -> ModelOperation {
        let roll = random.int(in: 0...99)
        switch roll {
        case 0..<36: return nextAppend()
        case 36..<47: return nextHardState()
        case 47..<53: return nextTruncate()
        case 53..<65: return nextSnapshot() ?? nextAppend()
        case 65..<68: return nextInstall()
        case 68..<71: return .compact(through: random.value(in: 0...model.snapshot.index))
        case 71..<82: return .synchronize
        case 82..<85: return .reopen
        case 85..<88: return .crash
        case 88..<93: return .powerLoss(keepUnsyncedBytes: random.percent(60) ? 0 : random.int(in: 1...3000))
        case 93..<98: return nextFault()
        default: return nextBitFlip() ?? .reopen
        }
    }

    private func nextAppend() -> ModelOperation {
        let lowest = max(model.hardState.commit, model.snapshot.index) + 1
        let conflict = lowest <= model.lastIndex && random.percent(20)
        let start = conflict ? random.value(in: lowest...model.lastIndex) : model.lastIndex + 1
        var term = max(model.term(at: start - 1) ?? 0, model.topTerm) + (conflict || random.percent(5) ? 1 : 0)
        var entries: [LogEntry] = []
        let count = random.percent(70) ? random.int(in: 1...5) : random.int(in: 1...20)
        for offset in 0..<UInt64(count) {
            if random.percent(3) { term += 1 }
            entries.append(LogEntry(index: start + offset, term: term, payload: random.bytes(countMax: 2000)))
        }
        if conflict { statistics.conflictingAppends += 1 }
        let encodedBytes = entries.reduce(0) { $0 + 12 + $1.payload.count }
        if encodedBytes >= configuration.compressionBytesMin { statistics.compressibleBatches += 1 }
        guard random.percent(hardStateWithAppendPercent) else { return .append(entries, nil) }
        let current = model.hardState
        let newTerm = random.percent(30) ? max(current.term, term) : current.term
        let hardState = HardState(
            term: newTerm, vote: newTerm == current.term ? current.vote : random.value(in: 0...3),
            commit: random.value(in: current.commit...entries.last!.index))
        return .append(entries, hardState)
    }

    private func nextHardState() -> ModelOperation {
        var hardState = model.hardState
        if random.percent(70), hardState.commit < model.lastIndex {
            hardState.commit =
                random.percent(50) ? model.lastIndex : random.value(in: hardState.commit...model.lastIndex)
        }
        if random.percent(25) {
            hardState.term += 1
            hardState.vote = random.value(in: 0...3)
        }
        return .setHardState(hardState)
    }

    private func nextTruncate() -> ModelOperation {
        let lowest = max(model.hardState.commit, model.snapshot.index)
        if random.percent(10) { return .truncate(after: model.lastIndex + random.value(in: 0...2)) }
        return .truncate(after: random.value(in: lowest...model.lastIndex))
    }

    private func nextSnapshot() -> ModelOperation? {
        let commit = model.hardState.commit
        guard commit > model.snapshot.index, commit <= model.lastIndex else { return nil }
        let index = random.percent(50) ? commit : random.value(in: model.snapshot.index + 1...commit)
        let snapshot = LogSnapshot(index: index, term: model.term(at: index)!, data: random.bytes(countMax: 3000))
        let compactThrough = random.percent(70) ? index - random.value(in: 0...min(index, 10)) : nil
        statistics.snapshots += 1
        return .snapshot(
            snapshot, written: random.percent(50), compress: random.percent(80), compactThrough: compactThrough)
    }

    private func nextInstall() -> ModelOperation {
        let lowest = max(model.hardState.commit, model.snapshot.index) + 1
        let index: UInt64
        let term: UInt64
        if lowest <= model.lastIndex, random.percent(40) {
            index = random.value(in: lowest...model.lastIndex)
            // Half of these agree with our entry there (its suffix stays), half conflict (it goes).
            term = random.percent(50) ? model.term(at: index)! : model.topTerm + 1
        } else {
            index = model.lastIndex + random.value(in: 1...30)
            term = model.topTerm + 1
        }
        statistics.installs += 1
        let snapshot = LogSnapshot(index: index, term: term, data: random.bytes(countMax: 3000))
        guard random.percent(70) else { return .install(snapshot, nil) }
        let current = model.hardState
        let hardState = HardState(
            term: max(current.term, term), vote: term > current.term ? random.value(in: 0...3) : current.vote,
            commit: index)
        return .install(snapshot, hardState)
    }

    private func nextFault() -> ModelOperation {
        let fault: ModelFault =
            switch random.int(in: 0...9) {
            case 0, 1: .fail(.write, errorNumber: 28)
            case 2, 3: .fail(.synchronize, errorNumber: 5)
            case 4: .fail(.synchronizeDirectory, errorNumber: 5)
            case 5: .fail(random.element([.rename, .remove, .open, .truncate]), errorNumber: 5)
            default: .crashDuringWrite(keepBytes: random.int(in: 0...400))
            }
        let inner: ModelOperation =
            switch random.int(in: 0...5) {
            case 0, 1: nextAppend()
            case 2: nextHardState()
            case 3: nextTruncate()
            case 4: nextSnapshot() ?? nextInstall()
            default: random.percent(50) ? nextInstall() : .compact(through: model.snapshot.index)
            }
        let keep = random.percent(50) ? nil : random.percent(60) ? 0 : random.int(in: 1...3000)
        return .fault(fault, inner, powerLossKeeping: keep)
    }

    private func nextBitFlip() -> ModelOperation? {
        let snapshots = fileSystem.paths.filter { $0.hasPrefix(Self.directory + "/snapshot-") && $0.hasSuffix(".snap") }
        let files = segmentFiles() + (snapshots.max().map { [$0] } ?? [])
        guard !files.isEmpty else { return nil }
        let path = random.element(files)
        guard let size = fileSystem.contents(path)?.count, size > 0 else { return nil }
        return .flipBit(path: path, byteOffset: random.int(in: 0...size - 1), bit: random.int(in: 0...7))
    }
}
