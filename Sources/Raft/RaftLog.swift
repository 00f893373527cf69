/// The replicated log as this node holds it: entries after the latest snapshot, what is committed, what was
/// handed to the application, and what is not yet persisted.
///
/// Entries live in memory from `snapshotIndex + 1`: the compaction point, at the latest snapshot or a
/// margin of entries before it (`Raft.compact(_:keepingEntries:)`); the driver bounds memory by taking
/// snapshots and compacting. Invariants: snapshotIndex ≤ applied ≤ committed ≤ lastIndex; persistedIndex ≤ lastIndex.
struct RaftLog: Sendable, Equatable {
    private(set) var snapshotIndex: UInt64 = 0
    private(set) var snapshotTerm: UInt64 = 0
    private(set) var entries: [Entry] = []
    /// The highest index known committed (§5.3).
    private(set) var committed: UInt64 = 0
    /// The highest index handed to the application in a `Ready` (applied once it calls `advance`).
    var applying: UInt64 = 0
    /// The highest index the application applied.
    var applied: UInt64 = 0
    /// Entries up to here were handed out for persisting.
    var persistingIndex: UInt64 = 0
    /// A snapshot received from the leader, not yet handed out for persisting.
    var pendingSnapshot: Snapshot?

    init() {}

    /// A log restored from what the driver persisted.
    init(snapshotIndex: UInt64, snapshotTerm: UInt64, entries: [Entry], committed: UInt64) {
        precondition(
            entries.first.map { $0.index == snapshotIndex + 1 } ?? true,
            "entries start at \(entries.first?.index ?? 0), snapshot at \(snapshotIndex)")
        self.snapshotIndex = snapshotIndex
        self.snapshotTerm = snapshotTerm
        self.entries = entries
        self.committed = max(committed, snapshotIndex)
        self.applying = snapshotIndex
        self.applied = snapshotIndex
        self.persistingIndex = lastIndex
        precondition(self.committed <= lastIndex, "commit \(self.committed) > lastIndex \(lastIndex)")
    }

    var firstIndex: UInt64 { snapshotIndex + 1 }
    var lastIndex: UInt64 { snapshotIndex + UInt64(entries.count) }
    var lastTerm: UInt64 { entries.last?.term ?? snapshotTerm }

    /// The term at `index`; nil when compacted away or beyond the end.
    func term(at index: UInt64) -> UInt64? {
        if index == snapshotIndex { return snapshotTerm }
        guard index > snapshotIndex, index <= lastIndex else { return nil }
        return entries[Int(index - snapshotIndex - 1)].term
    }

    func matchTerm(_ index: UInt64, _ term: UInt64) -> Bool { self.term(at: index) == term }

    /// §5.4.1: a candidate's log is at least as up to date as ours.
    func isUpToDate(lastIndex candidateIndex: UInt64, lastTerm candidateTerm: UInt64) -> Bool {
        candidateTerm > lastTerm || (candidateTerm == lastTerm && candidateIndex >= lastIndex)
    }

    /// Entries `low ..< high`, at most `bytesMax` of them (at least one).
    func slice(_ low: UInt64, _ high: UInt64, bytesMax: Int) -> [Entry] {
        precondition(
            low > snapshotIndex && high <= lastIndex + 1 && low <= high,
            "slice \(low)..<\(high) of \(firstIndex)...\(lastIndex)")
        var result: [Entry] = []
        var bytes = 0
        for entry in entries[Int(low - snapshotIndex - 1)..<Int(high - snapshotIndex - 1)] {
            if !result.isEmpty && bytes + entry.size > bytesMax { break }
            result.append(entry)
            bytes += entry.size
        }
        return result
    }

    /// Appends a leader's entries after (index, term) if that matches (§5.3); returns the new last index of
    /// what matched and, when a conflict replaced entries this log held, the first index replaced; nil when
    /// the logs do not match there.
    mutating func maybeAppend(index: UInt64, term: UInt64, commit: UInt64, entries newEntries: [Entry]) -> (
        lastNew: UInt64, replacedFrom: UInt64?
    )? {
        guard matchTerm(index, term) else { return nil }
        let lastNew = index + UInt64(newEntries.count)
        // Find the first entry that conflicts (or is new); §5.3 step 3 and 4.
        var position = 0
        while position < newEntries.count {
            let entry = newEntries[position]
            if entry.index <= snapshotIndex || self.term(at: entry.index) == entry.term {
                position += 1
            } else {
                break
            }
        }
        var replacedFrom: UInt64?
        if position < newEntries.count {
            let first = newEntries[position].index
            precondition(first > committed, "entry \(first) conflicts with committed \(committed)")
            if first <= lastIndex { replacedFrom = first }
            truncateAndAppend(Array(newEntries[position...]))
        }
        commitTo(min(commit, lastNew))
        return (lastNew, replacedFrom)
    }

    /// Appends entries, replacing any from the first one's index on.
    mutating func truncateAndAppend(_ newEntries: [Entry]) {
        guard let first = newEntries.first?.index else { return }
        precondition(
            first > snapshotIndex && first <= lastIndex + 1, "append at \(first) to \(firstIndex)...\(lastIndex)")
        entries.removeSubrange(Int(first - snapshotIndex - 1)...)
        entries.append(contentsOf: newEntries)
        persistingIndex = min(persistingIndex, first - 1)
    }

    mutating func commitTo(_ index: UInt64) {
        guard index > committed else { return }
        precondition(index <= lastIndex, "commit \(index) > lastIndex \(lastIndex)")
        committed = index
    }

    /// Entries not yet handed out for persisting.
    var unpersistedEntries: [Entry] {
        guard persistingIndex < lastIndex else { return [] }
        return Array(entries[Int(max(persistingIndex, snapshotIndex) - snapshotIndex)...])
    }

    /// Committed entries not yet handed to the application.
    func nextCommittedEntries(bytesMax: Int) -> [Entry] {
        let low = max(applying, snapshotIndex) + 1
        guard committed >= low else { return [] }
        return slice(low, committed + 1, bytesMax: bytesMax)
    }

    /// Replaces the log with a snapshot from the leader (§7).
    mutating func restore(_ snapshot: Snapshot) {
        snapshotIndex = snapshot.index
        snapshotTerm = snapshot.term
        entries = []
        committed = snapshot.index
        persistingIndex = snapshot.index
        pendingSnapshot = snapshot
    }

    /// Drops entries up to `index` (already in a snapshot the application took).
    mutating func compact(through index: UInt64) {
        guard index > snapshotIndex else { return }
        precondition(index <= applied, "compact through \(index) past applied \(applied)")
        let term = self.term(at: index)!
        entries.removeFirst(Int(index - snapshotIndex))
        snapshotIndex = index
        snapshotTerm = term
    }

    /// The index of the last entry with a term at most `term`, at or before `index` (fast backtracking).
    func lastIndex(atOrBefore index: UInt64, withTermAtMost term: UInt64) -> UInt64 {
        var candidate = min(index, lastIndex)
        while candidate > snapshotIndex, let entryTerm = self.term(at: candidate), entryTerm > term {
            candidate -= 1
        }
        return candidate
    }
}
