import DequeModule

/// A durable, segmented, checksummed log of Raft entries, with hard state and snapshots, in one
/// directory. It knows nothing of what an entry means.
///
/// Shaped for a Raft driver: `append` writes a batch (and optionally the hard state) with one write and
/// one fdatasync (group commit); `entries(from:to:bytesMax:)` reads a range; `term(at:)`, `firstIndex`,
/// `lastIndex` answer Raft's questions; appending at an index at or below `lastIndex` replaces the
/// conflicting suffix (§5.3); `compact(through:)` drops a prefix a snapshot covers.
///
/// Recovery (`open`) verifies every record. A torn record at the very end of the last segment (a crash
/// mid-write) is cut away; any other damage is refused with `SegmentLogError.corrupt`, naming the file
/// and byte offset. After a failed write or sync the log refuses everything until it is opened again,
/// because what reached the disk is then unknown.
///
/// Not thread-safe: one owner (the shard's driver) calls it.
public final class SegmentLog {
    public let directory: String
    public let options: SegmentLogOptions
    public let fileSystem: any FileSystem
    var segments: [SegmentFile] = []
    /// The damage cut away on open under `salvageDamage` (nil when the log was intact).
    public internal(set) var salvagedDamage: SegmentLogError?
    var index = LogIndex()
    /// The snapshot the log starts after; (0, 0) before any.
    public internal(set) var snapshotIndex: UInt64 = 0
    public internal(set) var snapshotTerm: UInt64 = 0
    /// The latest hard state written.
    public internal(set) var hardState = HardState()
    /// Recently appended entries, newest last, for reads without disk I/O.
    var tailCache: Deque<LogEntry> = []
    var tailCacheBytes = 0
    /// Set by a failed write or sync: the log is unusable until reopened.
    var failure: String?
    /// Bytes written since the last sync (policy `deferred`).
    var unsyncedBytes = 0

    init(directory: String, fileSystem: any FileSystem, options: SegmentLogOptions) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.options = options
    }

    deinit { close() }

    /// The first index still in the log (after the snapshot).
    public var firstIndex: UInt64 { snapshotIndex + 1 }

    /// The last index in the log, or the snapshot's index when the log is empty after it.
    public var lastIndex: UInt64 { index.isEmpty ? snapshotIndex : max(snapshotIndex, index.nextIndex - 1) }

    /// The term of the entry at `index`; the snapshot's term at its index; nil outside the log.
    public func term(at entryIndex: UInt64) -> UInt64? {
        if entryIndex == snapshotIndex { return snapshotTerm }
        guard entryIndex > snapshotIndex else { return nil }
        return index.term(at: entryIndex)
    }

    /// Closes the files. Later calls fail.
    public func close() {
        for segment in segments { segment.file.close() }
        segments.removeAll()
        if failure == nil { failure = "closed" }
    }

    // MARK: Writing

    /// Appends `entries` (contiguous, starting anywhere from `firstIndex` to `lastIndex + 1`, replacing any
    /// entries from there on) and, when given, a new hard state, in one write, then syncs if the policy
    /// says so and `synchronizing` is true (false: a hard state whose term and vote did not change, which a
    /// crash may take back without harm — the next synced append makes it durable too). Entries at or below
    /// the stored commit index cannot be replaced.
    public func append(_ entries: [LogEntry], hardState newHardState: HardState? = nil, synchronizing: Bool = true)
        throws(SegmentLogError)
    {
        try checkUsable()
        try validate(entries)
        if let newHardState { try validate(newHardState) }
        guard !entries.isEmpty || newHardState != nil else { return }
        try rollIfFull()
        var bytes: [UInt8] = []
        var recordOffsets: [(offset: Int, entries: ArraySlice<LogEntry>)] = []
        var start = 0
        while start < entries.count {
            var end = start
            var recordBytes = 0
            while end < entries.count,
                end == start || recordBytes + entries[end].payload.count + 12 <= Self.appendBytesMax
            {
                recordBytes += entries[end].payload.count + 12
                end += 1
            }
            recordOffsets.append((bytes.count, entries[start..<end]))
            LogRecordEncoder.appendEntries(
                entries[start..<end], compressionBytesMin: options.compressionBytesMin, to: &bytes)
            start = end
        }
        if let newHardState { LogRecordEncoder.appendHardState(newHardState, to: &bytes) }
        let segment = segments[segments.count - 1]
        try write(&bytes, to: segment)
        for (offset, slice) in recordOffsets {
            let run = EntryRun(
                firstIndex: slice.first!.index, count: slice.count, segmentSequence: segment.sequence,
                recordOffset: segment.size + offset)
            let added = index.add(run, terms: slice.lazy.map(\.term), gapAllowedThrough: snapshotIndex)
            precondition(added, "append at \(run.firstIndex) left a gap after \(index.nextIndex - 1)")
        }
        segment.size += bytes.count
        if let newHardState { hardState = newHardState }
        cache(entries)
        if options.syncPolicy == .always && (synchronizing || !entries.isEmpty) {
            try synchronize()
        } else {
            unsyncedBytes += bytes.count
        }
    }

    /// Stores a new hard state alone.
    public func setHardState(_ newHardState: HardState, synchronizing: Bool = true) throws(SegmentLogError) {
        try append([], hardState: newHardState, synchronizing: synchronizing)
    }

    /// Drops every entry after `lastKept` (which must not be below the commit index).
    public func truncate(after lastKept: UInt64) throws(SegmentLogError) {
        try checkUsable()
        guard lastKept < lastIndex else { return }
        guard lastKept >= hardState.commit, lastKept >= snapshotIndex else {
            throw .invalidArgument("cannot truncate after \(lastKept): commit index is \(hardState.commit)")
        }
        var bytes: [UInt8] = []
        LogRecordEncoder.appendTruncate(lastKept: lastKept, to: &bytes)
        let segment = segments[segments.count - 1]
        try write(&bytes, to: segment)
        segment.size += bytes.count
        index.dropEntries(after: lastKept)
        dropCache(after: lastKept)
        if options.syncPolicy == .always { try synchronize() } else { unsyncedBytes += bytes.count }
    }

    /// Makes every write so far durable (fdatasync of the active segment).
    public func synchronize() throws(SegmentLogError) {
        try checkUsable()
        guard let segment = segments.last else { return }
        do {
            try segment.file.synchronize()
        } catch {
            failure = "\(error)"
            throw .io(error)
        }
        unsyncedBytes = 0
    }

    /// The most bytes of entries one record holds; a larger append is split into several records.
    public static let appendBytesMax = 16 << 20

    private func validate(_ entries: [LogEntry]) throws(SegmentLogError) {
        guard let first = entries.first else { return }
        guard first.index > snapshotIndex, first.index <= lastIndex + 1 else {
            throw .invalidArgument("append at \(first.index) outside \(snapshotIndex + 1)...\(lastIndex + 1)")
        }
        guard first.index > hardState.commit else {
            throw .invalidArgument(
                "append at \(first.index) would replace committed entries (commit \(hardState.commit))")
        }
        var previousTerm = term(at: first.index - 1) ?? 0
        for (position, entry) in entries.enumerated() {
            guard entry.index == first.index + UInt64(position) else {
                throw .invalidArgument("entry \(entry.index) follows \(first.index + UInt64(position) - 1)")
            }
            guard entry.term >= previousTerm else {
                throw .invalidArgument("entry \(entry.index) has term \(entry.term) below \(previousTerm)")
            }
            guard entry.payload.count <= Self.appendBytesMax - 12 else {
                throw .invalidArgument(
                    "entry \(entry.index) is \(entry.payload.count) bytes, over \(Self.appendBytesMax - 12)")
            }
            previousTerm = entry.term
        }
    }

    private func validate(_ newHardState: HardState) throws(SegmentLogError) {
        guard newHardState.term >= hardState.term else {
            throw .invalidArgument("hard state term \(newHardState.term) is below \(hardState.term)")
        }
    }

    func checkUsable() throws(SegmentLogError) {
        if let failure { throw .failed(failure) }
    }

    /// Writes records at the segment's end; any failure makes the log unusable. The first record says
    /// whether everything before it was synced (recovery's line between a torn write and corruption).
    func write(_ bytes: inout [UInt8], to segment: SegmentFile) throws(SegmentLogError) {
        if unsyncedBytes == 0 { LogRecordEncoder.markWriteAfterSync(&bytes) }
        do {
            try segment.file.write(bytes, at: segment.size)
        } catch {
            failure = "\(error)"
            throw .io(error)
        }
    }

    /// Starts a new segment once the active one is full: syncs the old one first so a lost tail can never
    /// sit before a durable later segment.
    private func rollIfFull() throws(SegmentLogError) {
        guard let active = segments.last, active.size >= options.segmentBytesMax else { return }
        if unsyncedBytes > 0 { try synchronize() }
        try createSegment(sequence: active.sequence + 1)
    }

    /// Creates, syncs and registers an empty segment, and syncs the directory.
    func createSegment(sequence: UInt64) throws(SegmentLogError) {
        let name = SegmentFile.name(sequence: sequence)
        let path = fileSystem.path(directory, name)
        do {
            let file = try fileSystem.openFile(path, create: true)
            try file.truncate(to: 0)
            let header = SegmentFile.header(
                sequence: sequence, codec: options.compressionBytesMin == .max ? .raw : .lz4)
            try file.write(header, at: 0)
            file.reserve(bytes: options.segmentBytesMax)
            try file.synchronize()
            try fileSystem.synchronizeDirectory(directory)
            segments.append(SegmentFile(sequence: sequence, name: name, file: file, size: header.count))
        } catch {
            failure = "\(error)"
            throw .io(error)
        }
    }

    // MARK: Tail cache

    func cache(_ entries: [LogEntry]) {
        guard let first = entries.first else { return }
        dropCache(after: first.index - 1)
        if let last = tailCache.last, last.index + 1 != first.index {
            tailCache.removeAll()
            tailCacheBytes = 0
        }
        for entry in entries {
            tailCache.append(entry)
            tailCacheBytes += entry.payload.count
        }
        while tailCacheBytes > options.tailCacheBytesMax, let oldest = tailCache.popFirst() {
            tailCacheBytes -= oldest.payload.count
        }
    }

    func dropCache(after lastKept: UInt64) {
        while let last = tailCache.last, last.index > lastKept {
            tailCache.removeLast()
            tailCacheBytes -= last.payload.count
        }
    }
}
