extension SegmentLog {
    /// Writes a snapshot file into a log's directory (temporary name, fdatasync, rename, directory sync)
    /// without touching the log, so a large snapshot can be written off the thread that owns the log.
    /// Then call `snapshotWritten(index:term:)` on the log. With policy `deferred`, call `synchronize()` on the
    /// log first: the snapshot must not reach the disk ahead of the entries and hard state it follows.
    public static func writeSnapshot(
        _ snapshot: LogSnapshot, directory: String, fileSystem: any FileSystem = PosixFileSystem(),
        compress: Bool = true
    ) throws(SegmentLogError) {
        let name = SnapshotFile.name(index: snapshot.index)
        let temporary = fileSystem.path(directory, name + SnapshotFile.temporarySuffix)
        do {
            let file = try fileSystem.openFile(temporary, create: true)
            defer { file.close() }
            try file.truncate(to: 0)
            try file.write(SnapshotFile.encode(snapshot, compress: compress), at: 0)
            try file.synchronize()
            try fileSystem.rename(temporary, to: fileSystem.path(directory, name))
            try fileSystem.synchronizeDirectory(directory)
        } catch {
            throw .io(error)
        }
    }

    /// Adopts a snapshot written by `writeSnapshot` of this log's own entries: the log now starts after
    /// it, and older snapshot files are removed. Entries it covers stay until `compact(through:)`.
    public func snapshotWritten(index snapshotEntryIndex: UInt64, term snapshotEntryTerm: UInt64)
        throws(SegmentLogError)
    {
        try checkUsable()
        guard snapshotEntryIndex > snapshotIndex else { return }
        guard term(at: snapshotEntryIndex) == snapshotEntryTerm else {
            throw .invalidArgument(
                "snapshot at \(snapshotEntryIndex) term \(snapshotEntryTerm) does not match the log; use saveSnapshot")
        }
        try adopt(index: snapshotEntryIndex, term: snapshotEntryTerm)
    }

    /// Installs a snapshot (for instance one received from a leader, §7): entries that conflict with it are
    /// dropped first, then the file is written and the log starts after it.
    public func saveSnapshot(_ snapshot: LogSnapshot) throws(SegmentLogError) {
        try checkUsable()
        guard snapshot.index > snapshotIndex else { return }
        if term(at: snapshot.index) != snapshot.term, lastIndex > max(hardState.commit, snapshotIndex) {
            // Our entries disagree with the snapshot: only the committed prefix can be trusted.
            let lastKept = max(hardState.commit, snapshotIndex)
            var bytes: [UInt8] = []
            LogRecordEncoder.appendTruncate(lastKept: lastKept, to: &bytes)
            let segment = segments[segments.count - 1]
            try write(&bytes, to: segment)
            segment.size += bytes.count
            index.dropEntries(after: lastKept)
            dropCache(after: lastKept)
        }
        // The snapshot must not reach the disk ahead of the entries and hard state it follows (policy
        // `deferred`): a power loss would pair it with an older log.
        try synchronize()
        try Self.writeSnapshot(
            snapshot, directory: directory, fileSystem: fileSystem, compress: options.compressionBytesMin != .max)
        try adopt(index: snapshot.index, term: snapshot.term)
    }

    /// Reads and verifies the current snapshot, or nil when there is none.
    public func loadSnapshot() throws(SegmentLogError) -> LogSnapshot? {
        guard snapshotIndex > 0 else { return nil }
        return try Self.readSnapshot(
            name: SnapshotFile.name(index: snapshotIndex), directory: directory, fileSystem: fileSystem)
    }

    /// Removes segments whose entries all lie at or below `through`, which the snapshot must cover.
    public func compact(through compactIndex: UInt64) throws(SegmentLogError) {
        try checkUsable()
        guard compactIndex <= snapshotIndex else {
            throw .invalidArgument("compact through \(compactIndex) past the snapshot at \(snapshotIndex)")
        }
        index.dropEntries(through: compactIndex)
        let active = segments[segments.count - 1]
        let oldestInUse = min(index.oldestSegmentInUse ?? active.sequence, active.sequence)
        let removable = segments.filter { $0.sequence < oldestInUse }
        guard !removable.isEmpty else { return }
        // The current hard state may live only in a segment about to go: write it again first.
        try append([], hardState: hardState)
        if options.syncPolicy != .always { try synchronize() }
        do {
            for segment in removable {
                segment.file.close()
                try fileSystem.removeFile(fileSystem.path(directory, segment.name))
            }
            try fileSystem.synchronizeDirectory(directory)
        } catch {
            failure = "\(error)"
            throw .io(error)
        }
        segments.removeAll { $0.sequence < oldestInUse }
    }

    /// Loads the snapshot position at open: removes temporary and superseded files, verifies the latest.
    func recoverSnapshots(_ names: [String]) throws {
        for name in names where name.hasSuffix(".snap" + SnapshotFile.temporarySuffix) {
            try fileSystem.removeFile(fileSystem.path(directory, name))
        }
        guard let latest = names.compactMap(SnapshotFile.index(fromName:)).max() else { return }
        let snapshot = try Self.readSnapshot(
            name: SnapshotFile.name(index: latest), directory: directory, fileSystem: fileSystem)
        guard snapshot.index == latest else {
            throw SegmentLogError.corrupt(
                file: SnapshotFile.name(index: latest), offset: 16, reason: "holds index \(snapshot.index)")
        }
        snapshotIndex = snapshot.index
        snapshotTerm = snapshot.term
        try removeSnapshots(below: latest, names: names)
    }

    private func adopt(index snapshotEntryIndex: UInt64, term snapshotEntryTerm: UInt64) throws(SegmentLogError) {
        snapshotIndex = snapshotEntryIndex
        snapshotTerm = snapshotEntryTerm
        do {
            try removeSnapshots(below: snapshotEntryIndex, names: fileSystem.contentsOfDirectory(directory))
        } catch {
            failure = "\(error)"
            throw .io(error)
        }
    }

    private func removeSnapshots(below latest: UInt64, names: [String]) throws(FileSystemError) {
        var removed = false
        for name in names {
            guard let snapshotIndex = SnapshotFile.index(fromName: name), snapshotIndex < latest else { continue }
            try fileSystem.removeFile(fileSystem.path(directory, name))
            removed = true
        }
        if removed { try fileSystem.synchronizeDirectory(directory) }
    }

    private static func readSnapshot(name: String, directory: String, fileSystem: any FileSystem)
        throws(SegmentLogError) -> LogSnapshot
    {
        let bytes: [UInt8]
        do {
            let file = try fileSystem.openFile(fileSystem.path(directory, name), create: false)
            defer { file.close() }
            bytes = try file.read(at: 0, count: file.size())
        } catch {
            throw .io(error)
        }
        switch SnapshotFile.decode(bytes) {
        case .success(let snapshot): return snapshot
        case .failure(let problem): throw .corrupt(file: name, offset: problem.offset, reason: problem.reason)
        }
    }
}
