extension SegmentLog {
    /// Entries `from ..< end`, stopping once their payloads pass `bytesMax` (at least one entry is returned
    /// when the range is not empty). `from` must be at least `firstIndex` and `end` at most `lastIndex + 1`.
    public func entries(from start: UInt64, to end: UInt64, bytesMax: Int = .max) throws(SegmentLogError) -> [LogEntry]
    {
        try checkUsable()
        guard start >= firstIndex, end <= lastIndex + 1, start <= end else {
            throw .invalidArgument("entries \(start)..<\(end) outside \(firstIndex)...\(lastIndex)")
        }
        var result: [LogEntry] = []
        var bytes = 0
        var next = start
        while next < end {
            if let cached = tailCache.first, cached.index <= next {
                for entry in tailCache[Int(next - cached.index)...] where entry.index < end {
                    if !result.isEmpty, bytes + entry.payload.count > bytesMax { return result }
                    result.append(entry)
                    bytes += entry.payload.count
                }
                return result
            }
            guard let run = index.run(containing: next) else {
                throw .invalidArgument("no stored entry \(next)")
            }
            for entry in try readRecord(run) where entry.index >= next && entry.index <= run.lastIndex {
                guard entry.index < end else { return result }
                if !result.isEmpty, bytes + entry.payload.count > bytesMax { return result }
                result.append(entry)
                bytes += entry.payload.count
            }
            next = run.lastIndex + 1
        }
        return result
    }

    /// Reads and verifies the record a run points into.
    private func readRecord(_ run: EntryRun) throws(SegmentLogError) -> [LogEntry] {
        guard let segment = segments.first(where: { $0.sequence == run.segmentSequence }) else {
            throw .invalidArgument("segment \(run.segmentSequence) is gone")
        }
        do {
            let headerBytes = try segment.file.read(at: run.recordOffset, count: LogRecordHeader.byteCount)
            guard headerBytes.count == LogRecordHeader.byteCount else {
                throw SegmentLogError.corrupt(
                    file: segment.name, offset: run.recordOffset, reason: "record header cut short")
            }
            let header = try headerBytes.withUnsafeBytes { buffer throws(LogRecordDecodingError) in
                try LogRecordDecoder.header(buffer)
            }
            let stored = try segment.file.read(
                at: run.recordOffset + LogRecordHeader.byteCount, count: header.storedLength)
            let body = try stored.withUnsafeBytes { buffer throws(LogRecordDecodingError) in
                try LogRecordDecoder.body(buffer, header: header)
            }
            return try LogRecordDecoder.entries(body, header: header)
        } catch let error as FileSystemError {
            throw .io(error)
        } catch let error as LogRecordDecodingError {
            throw .corrupt(file: segment.name, offset: run.recordOffset, reason: "\(error)")
        } catch let error as SegmentLogError {
            throw error
        } catch {
            throw .corrupt(file: segment.name, offset: run.recordOffset, reason: "\(error)")
        }
    }
}
