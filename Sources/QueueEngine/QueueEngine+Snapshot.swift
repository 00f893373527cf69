import Crypto

/// Snapshot and restore of the whole engine state.
///
/// The snapshot is canonical: equal engine states give equal bytes (maps are written sorted by key), and a
/// restored engine snapshots to the same bytes as the engine it came from. Its layout:
///
/// - magic `FRYS`, a format version byte (4; format 1, without transfers, 2, whose transferred messages
///   carry no receive count, and 3, without the cluster's configuration, are still read);
/// - the shard id, region and account id of the engine that wrote it, which must match the restoring one;
/// - clock, next message sequence, next queue incarnation, next move task number, last advance time;
/// - recently deleted queue names with their deletion times;
/// - every queue, sorted by name (see `SnapshotEncoder`);
/// - move tasks by source queue name, oldest first;
/// - (format 2) the next transfer id, the outbox oldest first, and import records by source shard;
/// - (format 3) the rules commands apply with (`Rules`; earlier formats: the first);
/// - (format 4) the cluster's configuration: a presence byte (0 or 1), then, on the metadata group, the
///   `ClusterMetadata` (see `ClusterMetadataCodec`; earlier formats: none);
/// - the SHA-256 of everything before it (32 bytes).
///
/// Indexes the engine can rebuild from the messages are not written: state counters, standard queues'
/// ready heap, the retention heap, FIFO group orders and in-flight counts, expiry queues of deduplication
/// ids and receive attempts. Index entries that the engine keeps but that can no longer fire are written
/// only where they are visible: timers (they set `nextWakeMilliseconds`) and FIFO ready groups (they
/// decide when a group is scheduled again).
extension QueueEngine {
    /// The bytes every snapshot starts with.
    static let snapshotMagic: [UInt8] = Array("FRYS".utf8)
    /// The format version this build writes; it reads this one and every earlier one.
    static let snapshotFormatVersion: UInt8 = 4
    /// Bytes of the trailing checksum.
    static let snapshotChecksumBytes = 32

    /// The whole state of the engine, for `init(configuration:snapshot:)`. The configuration is not in it.
    public func snapshot() -> [UInt8] {
        var writer = BinaryWriter(capacity: 4096 + messageCount * 192)
        writer.bytes.append(contentsOf: Self.snapshotMagic)
        writer.writeByte(Self.snapshotFormatVersion)
        SnapshotEncoder.encode(self, into: &writer)
        let checksum = writer.bytes.withUnsafeBytes { Self.snapshotChecksum($0) }
        writer.bytes.append(contentsOf: checksum)
        return writer.bytes
    }

    /// Restores an engine from `snapshot()` bytes. Throws when the bytes are truncated, corrupted (checksum),
    /// of an unknown format version, inconsistent, or taken by an engine of another shard, account or region.
    /// The restored engine behaves exactly as the one that took the snapshot.
    public init(configuration: QueueEngineConfiguration, snapshot: some Collection<UInt8>) throws(EngineCodecError) {
        let decoded =
            snapshot.withContiguousStorageIfAvailable { buffer in
                Self.restore(configuration: configuration, from: UnsafeRawBufferPointer(buffer))
            } ?? Array(snapshot).withUnsafeBytes { Self.restore(configuration: configuration, from: $0) }
        self = try decoded.get()
    }

    private static func restore(
        configuration: QueueEngineConfiguration, from buffer: UnsafeRawBufferPointer
    ) -> Result<QueueEngine, EngineCodecError> {
        Result { () throws(EngineCodecError) -> QueueEngine in
            let headerBytes = snapshotMagic.count + 1
            guard buffer.count >= headerBytes + snapshotChecksumBytes else {
                throw EngineCodecError(
                    .truncated,
                    "a snapshot has at least \(headerBytes + snapshotChecksumBytes) bytes, got \(buffer.count)",
                    offset: buffer.count)
            }
            guard buffer.prefix(snapshotMagic.count).elementsEqual(snapshotMagic) else {
                throw EngineCodecError(.notASnapshot, "the bytes do not start with FRYS", offset: 0)
            }
            let version = buffer[snapshotMagic.count]
            guard (1...snapshotFormatVersion).contains(version) else {
                throw EngineCodecError(
                    .unsupportedVersion,
                    "snapshot format version \(version), this build reads 1 to \(snapshotFormatVersion)",
                    offset: snapshotMagic.count)
            }
            let bodyEnd = buffer.count - snapshotChecksumBytes
            let body = UnsafeRawBufferPointer(rebasing: buffer[..<bodyEnd])
            guard snapshotChecksum(body).elementsEqual(buffer[bodyEnd...]) else {
                throw EngineCodecError(
                    .checksumMismatch, "the snapshot's SHA-256 does not match its bytes", offset: bodyEnd)
            }
            var reader = BinaryReader(body)
            reader.transfersCarryReceives = version >= 3
            reader.readyGroupsCarryTimes = version >= 3
            _ = try reader.readRaw(headerBytes)
            let engine = try SnapshotDecoder.decodeEngine(
                configuration: configuration, version: version, from: &reader)
            try reader.expectEnd()
            return engine
        }
    }

    /// SHA-256 of the snapshot bytes before the checksum.
    static func snapshotChecksum(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return Array(hasher.finalize())
    }
}
