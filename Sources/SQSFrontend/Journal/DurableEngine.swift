import QueueEngine
import SegmentLog

/// Where and how a node keeps its state on disk.
public struct DurabilityConfiguration: Sendable {
    /// The directory of the command log and its snapshots.
    public var directory: String
    /// When commands are acknowledged; default `.always`.
    public var syncPolicy: JournalSyncPolicy = .always
    /// Commands between snapshots; default 100,000 (range 1–100,000,000). A restart replays at most about
    /// this many commands after the newest snapshot.
    public var snapshotEntriesMin: UInt64 = 100_000
    /// The file system; tests pass a simulated one.
    public var fileSystem: any FileSystem = PosixFileSystem()

    public init(directory: String) {
        self.directory = directory
    }
}

/// Opens a node's log and rebuilds its engine: the newest snapshot, then every command after it.
public enum DurableEngine {
    /// What recovery found.
    public struct Recovered {
        public var engine: QueueEngine
        public var log: SegmentLog
        /// The journal index the snapshot covered (0 without one).
        public var snapshotIndex: UInt64
        /// Commands replayed after the snapshot.
        public var replayedCount: Int
    }

    /// The most bytes of log entries read at once while replaying: 32 MiB.
    static let replayReadBytesMax = 32 << 20

    /// Opens the log in `durability.directory` and replays it into an engine built with `configuration`.
    /// Throws a description naming the file and offset when the log or snapshot is damaged.
    public static func recover(
        configuration: QueueEngineConfiguration, durability: DurabilityConfiguration
    ) throws(SQSServerError) -> Recovered {
        var options = SegmentLogOptions()
        options.syncPolicy = durability.syncPolicy == .always ? .always : .deferred
        let log: SegmentLog
        do {
            log = try SegmentLog.open(
                directory: durability.directory, fileSystem: durability.fileSystem, options: options)
        } catch {
            throw SQSServerError(description: "cannot open the log in \(durability.directory): \(error)")
        }
        do {
            var engine = QueueEngine(configuration: configuration)
            if let snapshot = try log.loadSnapshot() {
                do {
                    engine = try QueueEngine(configuration: configuration, snapshot: snapshot.data)
                } catch {
                    throw SQSServerError(description: "snapshot at \(snapshot.index) does not restore: \(error)")
                }
            }
            var next = log.firstIndex
            var replayed = 0
            while next <= log.lastIndex {
                let entries = try log.entries(from: next, to: log.lastIndex + 1, bytesMax: replayReadBytesMax)
                for entry in entries {
                    let logged: LoggedCommand
                    do {
                        logged = try LoggedCommand(decoding: entry.payload)
                    } catch {
                        throw SQSServerError(description: "log entry \(entry.index) does not decode: \(error)")
                    }
                    _ = engine.apply(logged.command, timestampMilliseconds: logged.timestampMilliseconds)
                    replayed += 1
                }
                next = (entries.last?.index ?? log.lastIndex) + 1
            }
            return Recovered(engine: engine, log: log, snapshotIndex: log.snapshotIndex, replayedCount: replayed)
        } catch let error as SQSServerError {
            log.close()
            throw error
        } catch {
            log.close()
            throw SQSServerError(description: "cannot read the log in \(durability.directory): \(error)")
        }
    }
}
