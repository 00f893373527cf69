import DequeModule

/// Where each live entry is and its term: the in-memory map of the log, rebuilt by replaying records.
///
/// A record of entries starting at `j` replaces every entry from `j` on, so truncating a conflicting
/// suffix is an append and never rewrites bytes in place; replaying records in file order always gives
/// the log as it was after the last durable write.
struct LogIndex: Sendable {
    /// The index of `terms[0]`.
    private(set) var storedFirstIndex: UInt64 = 1
    /// The term of every stored entry, from `storedFirstIndex`.
    private(set) var terms: Deque<UInt64> = []
    /// Where the stored entries live, in index order, contiguous.
    private(set) var runs: Deque<EntryRun> = []

    var isEmpty: Bool { terms.isEmpty }
    /// The index after the last stored entry.
    var nextIndex: UInt64 { storedFirstIndex + UInt64(terms.count) }

    func term(at index: UInt64) -> UInt64? {
        guard index >= storedFirstIndex, index < nextIndex else { return nil }
        return terms[Int(index - storedFirstIndex)]
    }

    /// Keeps entries up to and including `index`.
    mutating func dropEntries(after index: UInt64) {
        guard index < nextIndex, !terms.isEmpty else { return }
        guard index >= storedFirstIndex else {
            terms.removeAll()
            runs.removeAll()
            return
        }
        terms.removeLast(Int(nextIndex - index - 1))
        while let last = runs.last, last.firstIndex > index { runs.removeLast() }
        if let last = runs.last, last.lastIndex > index {
            runs[runs.count - 1].count = Int(index - last.firstIndex + 1)
        }
    }

    /// Forgets every entry; the next one stored is `nextIndex`.
    mutating func removeAll(nextIndex: UInt64) {
        terms.removeAll()
        runs.removeAll()
        storedFirstIndex = nextIndex
    }

    /// Drops entries up to and including `index` (compaction).
    mutating func dropEntries(through index: UInt64) {
        guard !terms.isEmpty, index >= storedFirstIndex else { return }
        guard index < nextIndex - 1 else {
            storedFirstIndex = index + 1
            terms.removeAll()
            runs.removeAll()
            return
        }
        terms.removeFirst(Int(index - storedFirstIndex + 1))
        storedFirstIndex = index + 1
        while let first = runs.first, first.lastIndex <= index { runs.removeFirst() }
        if let first = runs.first, first.firstIndex <= index {
            runs[0].count -= Int(index - first.firstIndex + 1)
            runs[0].firstIndex = index + 1
        }
    }

    /// Adds the entries of a record starting at `run.firstIndex`, replacing any from there on. A start
    /// past the end is a gap, accepted only when `gapAllowedThrough` (the snapshot index) covers it.
    mutating func add(_ run: EntryRun, terms newTerms: some Collection<UInt64>, gapAllowedThrough: UInt64) -> Bool {
        precondition(run.count == newTerms.count && run.count > 0, "run of \(run.count) with \(newTerms.count) terms")
        if !terms.isEmpty, run.firstIndex < nextIndex { dropEntries(after: run.firstIndex - 1) }
        if terms.isEmpty {
            storedFirstIndex = run.firstIndex
        } else if run.firstIndex != nextIndex {
            guard run.firstIndex <= gapAllowedThrough + 1 else { return false }
            terms.removeAll()
            runs.removeAll()
            storedFirstIndex = run.firstIndex
        }
        terms.append(contentsOf: newTerms)
        runs.append(run)
        return true
    }

    /// The run holding `index`.
    func run(containing index: UInt64) -> EntryRun? {
        guard index >= storedFirstIndex, index < nextIndex else { return nil }
        var low = 0
        var high = runs.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if runs[middle].firstIndex <= index { low = middle } else { high = middle - 1 }
        }
        return runs[low]
    }

    /// The lowest segment sequence any live entry is stored in.
    var oldestSegmentInUse: UInt64? { runs.map(\.segmentSequence).min() }
}
