/// One Raft log entry: its position, the term it was created in, and opaque bytes.
public struct LogEntry: Sendable, Equatable {
    public var index: UInt64
    public var term: UInt64
    public var payload: [UInt8]

    public init(index: UInt64, term: UInt64, payload: [UInt8]) {
        self.index = index
        self.term = term
        self.payload = payload
    }
}

/// What Raft must remember across restarts (§5.1, Figure 2): currentTerm, votedFor, and the commit index.
public struct HardState: Sendable, Equatable {
    public var term: UInt64
    /// The node voted for in `term`; 0 when none.
    public var vote: UInt64
    public var commit: UInt64

    public init(term: UInt64 = 0, vote: UInt64 = 0, commit: UInt64 = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }
}

/// A snapshot: the state machine's bytes as of `index` (whose entry had `term`).
public struct LogSnapshot: Sendable, Equatable {
    public var index: UInt64
    public var term: UInt64
    public var data: [UInt8]

    public init(index: UInt64, term: UInt64, data: [UInt8]) {
        self.index = index
        self.term = term
        self.data = data
    }
}

/// Why a log operation failed. `corrupt` names the file and byte offset so an operator can act.
public enum SegmentLogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file operation failed; the log refuses further writes until it is opened again.
    case io(FileSystemError)
    /// Stored bytes failed verification somewhere other than a torn tail.
    case corrupt(file: String, offset: Int, reason: String)
    /// The caller broke the API's contract (a gap in indexes, overwriting committed entries, …).
    case invalidArgument(String)
    /// An earlier write or sync failed, so what is on disk is unknown: open the log again to recover.
    case failed(String)

    public var description: String {
        switch self {
        case .io(let error): "log I/O failed: \(error)"
        case .corrupt(let file, let offset, let reason): "corrupt log file \(file) at byte \(offset): \(reason)"
        case .invalidArgument(let reason): "invalid log operation: \(reason)"
        case .failed(let reason): "log unusable after an earlier failure (\(reason)); restart to recover"
        }
    }
}

/// When appends reach the disk.
public enum LogSyncPolicy: String, Sendable, CaseIterable {
    /// fdatasync every append before it returns.
    case always
    /// Appends return after write(2); the caller syncs on its own schedule with `synchronize()`.
    case deferred
}

/// How a log is laid out and when it compresses. Defaults suit a shard's message log.
public struct SegmentLogOptions: Sendable, Equatable {
    /// A segment is closed and a new one started once it holds this many bytes. Default 64 MiB, range 4 KiB–1 GiB.
    public var segmentBytesMax = 64 << 20
    /// Batches whose encoded entries reach this many bytes are LZ4-compressed (when that saves at least
    /// 1/8). Default 1 KiB; `Int.max` turns compression off.
    public var compressionBytesMin = 1024
    /// The most bytes of recently appended entries kept in memory for reads. Default 8 MiB.
    public var tailCacheBytesMax = 8 << 20
    public var syncPolicy = LogSyncPolicy.always
    /// On open, keep the valid records before damage in a segment instead of refusing to open: the damaged
    /// segment is cut at the first bad record and later segments are renamed `*.damaged`. For a replica
    /// that can re-fetch what was cut from its peers; `SegmentLog.salvagedDamage` says what was found.
    /// Default false: damage refuses the open.
    public var salvageDamage = false

    public init() {}

    /// The largest record (one append's encoded entries) accepted: 256 MiB.
    public static let recordBytesMax = 256 << 20
}
