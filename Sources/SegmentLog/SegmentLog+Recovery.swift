extension SegmentLog {
    /// Opens (creating when missing) the log in `directory`: loads the latest snapshot's position, replays
    /// and verifies every segment, cuts a torn tail off the last one, and refuses any other damage.
    public static func open(
        directory: String, fileSystem: any FileSystem = PosixFileSystem(),
        options: SegmentLogOptions = SegmentLogOptions()
    ) throws(SegmentLogError) -> SegmentLog {
        let log = SegmentLog(directory: directory, fileSystem: fileSystem, options: options)
        do {
            try fileSystem.createDirectory(directory)
            let names = try fileSystem.contentsOfDirectory(directory)
            try log.recoverSnapshots(names)
            let sequences = names.compactMap(SegmentFile.sequence(fromName:)).sorted()
            for (position, sequence) in sequences.enumerated() {
                do {
                    try log.recoverSegment(sequence: sequence, isLast: position == sequences.count - 1)
                } catch SegmentLogError.corrupt(let file, let offset, let reason) where options.salvageDamage {
                    let damage = SegmentLogError.corrupt(file: file, offset: offset, reason: reason)
                    if offset >= SegmentFile.headerByteCount {
                        try log.salvage(
                            sequence: sequence, validEnd: offset, later: Array(sequences[(position + 1)...]),
                            damage: damage)
                    } else {
                        // A damaged segment header: nothing in the segment can be trusted.
                        try log.salvage(
                            sequence: nil, validEnd: 0, later: Array(sequences[position...]), damage: damage)
                    }
                    break
                }
            }
            // What a crash left unsynced (a tail in the page cache, a file or rename whose directory entry was
            // never synced) is served from now on, so make it durable first: otherwise a later segment or
            // an acknowledged append could outlive it in a power loss.
            try log.segments.last?.file.synchronize()
            try fileSystem.synchronizeDirectory(directory)
        } catch let error as FileSystemError {
            log.close()
            throw .io(error)
        } catch let error as SegmentLogError {
            log.close()
            throw error
        } catch {
            log.close()
            throw .failed("\(error)")
        }
        if let storedFirst = log.index.isEmpty ? nil : log.index.storedFirstIndex, storedFirst > log.snapshotIndex + 1 {
            // Entries before the first stored one are missing: a segment before it was cut short at a record
            // boundary (which replaying it alone cannot tell from a segment that simply ended), or the
            // snapshot that covered them is gone.
            let damage = SegmentLogError.corrupt(
                file: log.segments.first?.name ?? "log", offset: SegmentFile.headerByteCount,
                reason: "entries start at \(storedFirst) but the snapshot ends at \(log.snapshotIndex)")
            guard options.salvageDamage else {
                log.close()
                throw damage
            }
            do {
                try log.setAsideEntriesAfterGap(damage: damage)
            } catch {
                log.close()
                throw error as? SegmentLogError ?? .failed("\(error)")
            }
        }
        if log.segments.isEmpty { try log.createSegment(sequence: 1) }
        if log.salvagedDamage != nil {
            // What was salvaged may leave a commit index past the entries kept (and a term and vote read
            // from segments set aside): record the hard state as it now stands, so that no later open
            // reads a commit index the log cannot reach.
            log.hardState.commit = min(log.hardState.commit, max(log.lastIndex, log.snapshotIndex))
            do {
                try log.setHardState(log.hardState)
            } catch {
                log.close()
                throw error
            }
        }
        return log
    }

    /// Keeps the records of segment `sequence` before `validEnd` (already replayed into the index), cuts the
    /// rest, and renames every later segment `*.damaged` so that nothing after the damage is served. With no
    /// `sequence` (its header was damaged), the segments already replayed are kept whole and the last of
    /// them takes the appends.
    private func salvage(sequence: UInt64?, validEnd: Int, later: [UInt64], damage: SegmentLogError) throws {
        if let sequence {
            let name = SegmentFile.name(sequence: sequence)
            let file = try fileSystem.openFile(fileSystem.path(directory, name), create: false)
            try file.truncate(to: validEnd)
            try file.synchronize()
            segments.append(SegmentFile(sequence: sequence, name: name, file: file, size: validEnd))
        } else if let last = segments.last {
            last.file.reserve(bytes: options.segmentBytesMax)
        }
        let names = Set(try fileSystem.contentsOfDirectory(directory))
        for laterSequence in later {
            let laterName = SegmentFile.name(sequence: laterSequence)
            // A segment set aside by an earlier repair keeps its name: this one gets the next free suffix.
            var target = laterName + ".damaged"
            var copy = 1
            while names.contains(target) {
                copy += 1
                target = laterName + ".damaged-\(copy)"
            }
            try fileSystem.rename(fileSystem.path(directory, laterName), to: fileSystem.path(directory, target))
        }
        try fileSystem.synchronizeDirectory(directory)
        salvagedDamage = damage
    }

    /// Sets aside, as `salvage` does, every segment from the one holding the first stored entry on: the
    /// entries before that one are missing, so none after them can be served. The log then continues from
    /// its snapshot (empty when every segment was set aside: `open` creates one).
    private func setAsideEntriesAfterGap(damage: SegmentLogError) throws {
        guard let firstSequence = index.runs.first?.segmentSequence,
            let position = segments.firstIndex(where: { $0.sequence == firstSequence })
        else { return }
        let setAside = segments[position...].map(\.sequence)
        for segment in segments[position...] { segment.file.close() }
        segments.removeSubrange(position...)
        index.removeAll(nextIndex: snapshotIndex + 1)
        dropCache(after: snapshotIndex)
        // Term and vote (read from the segments set aside) still hold; the commit index cannot pass what is
        // stored. The repair that follows writes both durably again.
        hardState.commit = min(hardState.commit, snapshotIndex)
        try salvage(sequence: nil, validEnd: 0, later: setAside, damage: damage)
    }

    /// Replays one segment file into the index.
    private func recoverSegment(sequence: UInt64, isLast: Bool) throws {
        let name = SegmentFile.name(sequence: sequence)
        let file = try fileSystem.openFile(fileSystem.path(directory, name), create: false)
        let fileSize = try file.size()
        let bytes = try file.read(at: 0, count: fileSize)
        let segment = SegmentFile(sequence: sequence, name: name, file: file, size: 0)
        let validEnd: Int
        do {
            validEnd = try bytes.withUnsafeBytes { buffer throws(SegmentLogError) in
                try replay(buffer, segment: segment, isLast: isLast)
            }
        } catch {
            file.close()
            throw error
        }
        if validEnd == 0 {
            // A segment whose header never fully reached the disk: created just before a crash.
            file.close()
            try fileSystem.removeFile(fileSystem.path(directory, name))
            try fileSystem.synchronizeDirectory(directory)
            return
        }
        if validEnd < fileSize {
            try file.truncate(to: validEnd)
            try file.synchronize()
        }
        segment.size = validEnd
        if isLast { file.reserve(bytes: options.segmentBytesMax) }
        segments.append(segment)
    }

    /// Verifies and applies the records of a segment's bytes; returns where valid data ends (0 when the
    /// segment is only a torn header). Throws `corrupt` for damage that is not a torn tail.
    private func replay(_ bytes: UnsafeRawBufferPointer, segment: SegmentFile, isLast: Bool) throws(SegmentLogError)
        -> Int
    {
        func corrupt(_ offset: Int, _ reason: String) -> SegmentLogError {
            .corrupt(file: segment.name, offset: offset, reason: reason)
        }
        if let problem = SegmentFile.headerProblem(bytes, expectedSequence: segment.sequence) {
            let tornHeader = bytes.count < SegmentFile.headerByteCount || bytes.allSatisfy { $0 == 0 }
            if isLast && tornHeader { return 0 }
            throw corrupt(0, problem)
        }
        let marksWrites = bytes.loadLittleEndian(at: 8, as: UInt16.self) >= 2
        var offset = SegmentFile.headerByteCount
        while offset < bytes.count {
            let remaining = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            let torn = remaining.count < LogRecordHeader.byteCount || remaining.allSatisfy { $0 == 0 }
            if torn {
                if isLast { return offset }
                throw corrupt(offset, "record cut short in a segment that is not the last")
            }
            // Damage in the last segment is a torn write (cut, like a short tail) unless a later write proves
            // it had been synced: an intact record after it that starts a write made once everything before
            // was synced (format 1 marks no write starts: there, any intact record after it). A power loss
            // persists unsynced sectors partly and in any order, so a valid header may front a zeroed body,
            // and a later record of the same unsynced write may survive intact.
            let tornTail = { (offset: Int) -> Bool in
                isLast && !Self.syncedLater(in: bytes, after: offset, marksWrites: marksWrites)
            }
            let header: LogRecordHeader
            do {
                header = try LogRecordDecoder.header(remaining)
            } catch {
                if tornTail(offset) { return offset }
                throw corrupt(offset, "\(error)")
            }
            let end = offset + LogRecordHeader.byteCount + header.storedLength
            guard end <= bytes.count else {
                if isLast { return offset }
                throw corrupt(offset, "record runs past the end of a segment that is not the last")
            }
            let stored = UnsafeRawBufferPointer(rebasing: bytes[(offset + LogRecordHeader.byteCount)..<end])
            do {
                let body = try LogRecordDecoder.body(stored, header: header)
                try apply(header, body: body, segment: segment, offset: offset)
            } catch let error as LogRecordDecodingError {
                if tornTail(offset) { return offset }
                throw corrupt(offset, "\(error)")
            } catch let error as SegmentLogError {
                throw error
            } catch {
                throw corrupt(offset, "\(error)")
            }
            offset = end
        }
        return offset
    }

    /// True when a record whose header and body both verify, and that (with `marksWrites`) starts a write
    /// made after everything before it was synced, starts anywhere after `offset` (every byte offset is
    /// tried: a damaged record's length cannot be trusted). Runs only on damage in the last segment, so its
    /// cost is paid at recovery, never on a clean open.
    static func syncedLater(in bytes: UnsafeRawBufferPointer, after offset: Int, marksWrites: Bool) -> Bool {
        var candidate = offset + 1
        while candidate + LogRecordHeader.byteCount <= bytes.count {
            defer { candidate += 1 }
            let remaining = UnsafeRawBufferPointer(rebasing: bytes[candidate...])
            guard let header = try? LogRecordDecoder.header(remaining),
                header.storedLength <= remaining.count - LogRecordHeader.byteCount,
                !marksWrites || header.flags & LogRecordHeader.startsWriteAfterSync != 0
            else { continue }
            let stored = UnsafeRawBufferPointer(
                rebasing: remaining[LogRecordHeader.byteCount..<(LogRecordHeader.byteCount + header.storedLength)])
            if CRC32C.checksum(stored) == header.bodyChecksum { return true }
        }
        return false
    }

    /// Applies one verified record to the in-memory state.
    private func apply(_ header: LogRecordHeader, body: [UInt8], segment: SegmentFile, offset: Int) throws {
        switch header.kind {
        case .entries:
            let terms = try LogRecordDecoder.terms(body, header: header)
            guard !terms.isEmpty else { return }
            let run = EntryRun(
                firstIndex: header.firstIndex, count: terms.count, segmentSequence: segment.sequence,
                recordOffset: offset)
            guard index.add(run, terms: terms, gapAllowedThrough: snapshotIndex) else {
                throw SegmentLogError.corrupt(
                    file: segment.name, offset: offset,
                    reason: "entries start at \(header.firstIndex) but the log ends at \(index.nextIndex - 1)")
            }
        case .hardState:
            hardState = try LogRecordDecoder.hardState(body)
        case .truncate:
            index.dropEntries(after: header.firstIndex)
            dropCache(after: header.firstIndex)
        }
    }
}
