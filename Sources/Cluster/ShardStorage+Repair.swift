import SegmentLog

/// Opening a shard's log, and repair mode that outlives a restart.
///
/// A damaged log that peers can re-fetch is salvaged: cut at the first bad record. Until the replica has
/// caught up again it must neither vote nor campaign (its log lacks entries it may have acknowledged). The
/// marker file `REPAIRING` is written and synced *before* the salvage changes any file, and removed once
/// repair finishes, so a crash at any point of a repair (or of the salvage) restarts in repair mode.
extension ShardStorage {
    /// The marker's name inside a shard's directory.
    package static let repairMarkerName = "REPAIRING"

    /// A log opened for a shard: whether the replica starts in repair mode, and the damage cut if any.
    package struct Opened {
        package var storage: ShardStorage
        package var repair: Bool
        package var damage: SegmentLogError?
    }

    /// Opens the log in `directory`; when it is damaged and `peersCanRepair`, records repair mode durably
    /// and salvages it. Damage without peers, or a failed salvage, throws.
    package static func open(
        directory: String, fileSystem: any FileSystem, options: SegmentLogOptions, peersCanRepair: Bool
    ) throws -> Opened {
        let marker = fileSystem.path(directory, repairMarkerName)
        let pending = markerExists(directory: directory, fileSystem: fileSystem)
        let first = Result { () throws(SegmentLogError) -> SegmentLog in
            try SegmentLog.open(directory: directory, fileSystem: fileSystem, options: options)
        }
        switch first {
        case .success(let log):
            return Opened(storage: ShardStorage(log: log), repair: pending, damage: nil)
        case .failure(let error):
            guard case .corrupt = error, peersCanRepair else { throw error }
            if !pending { try writeMarker(marker, directory: directory, fileSystem: fileSystem) }
            var salvage = options
            salvage.salvageDamage = true
            let log = try SegmentLog.open(directory: directory, fileSystem: fileSystem, options: salvage)
            return Opened(storage: ShardStorage(log: log), repair: true, damage: error)
        }
    }

    /// Creates `directory` for a new replica of a running group, marked as repairing: an empty log has no
    /// vote to remember and none of the entries its group committed, so it must neither vote nor campaign
    /// (even where the group's first voters name it) until it has everything its leader had committed.
    package static func createForRepair(directory: String, fileSystem: any FileSystem) throws {
        try fileSystem.createDirectory(directory)
        guard !markerExists(directory: directory, fileSystem: fileSystem) else { return }
        try writeMarker(fileSystem.path(directory, repairMarkerName), directory: directory, fileSystem: fileSystem)
    }

    /// True when `directory` holds the repair marker (false when the directory does not exist yet).
    private static func markerExists(directory: String, fileSystem: any FileSystem) -> Bool {
        do {
            return try fileSystem.contentsOfDirectory(directory).contains(repairMarkerName)
        } catch {
            return false
        }
    }

    /// Repair finished: the replica may vote again after a restart. Losing this removal to a crash only
    /// repeats a repair.
    package func repairFinished() throws {
        let (directory, fileSystem) = (log.directory, log.fileSystem)
        guard Self.markerExists(directory: directory, fileSystem: fileSystem) else { return }
        try fileSystem.removeFile(fileSystem.path(directory, Self.repairMarkerName))
        try fileSystem.synchronizeDirectory(directory)
    }

    private static func writeMarker(_ path: String, directory: String, fileSystem: any FileSystem) throws {
        let file = try fileSystem.openFile(path, create: true)
        defer { file.close() }
        let text = Array("repairing from peers: do not vote until caught up\n".utf8)
        try text.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) throws -> Void in try file.write(bytes, at: 0) }
        try file.synchronize()
        try fileSystem.synchronizeDirectory(directory)
    }
}
