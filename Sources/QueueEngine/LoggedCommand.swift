/// One entry of the engine's durable log: a command and the timestamp it was applied with. Replaying the
/// entries after a snapshot, in order, through `QueueEngine.apply(_:timestampMilliseconds:)` rebuilds the
/// state the engine had.
///
/// The encoding (see `BinaryWriter` for the primitives) is a format version byte (2), the timestamp as a
/// signed varint, a command tag byte, then the command's fields in declaration order. There is no checksum:
/// the log that stores the entry has its own.
public struct LoggedCommand: Sendable, Equatable {
    /// The version byte every encoded entry starts with; this build reads 1 as well (2 added the receive
    /// count and first receive time of a message moved to another shard).
    static let formatVersion: UInt8 = 2

    /// The command applied.
    public var command: Command
    /// The timestamp it was applied with, epoch milliseconds.
    public var timestampMilliseconds: Int64

    /// The entry for `command` applied at `timestampMilliseconds`.
    public init(command: Command, timestampMilliseconds: Int64) {
        self.command = command
        self.timestampMilliseconds = timestampMilliseconds
    }

    /// The entry's bytes.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }

    /// Appends the entry's bytes to `bytes`.
    public func encode(into bytes: inout [UInt8]) {
        var writer = BinaryWriter()
        swap(&writer.bytes, &bytes)
        writer.bytes.reserveCapacity(writer.bytes.count + command.encodedSizeEstimate)
        writer.writeByte(Self.formatVersion)
        writer.writeSigned(timestampMilliseconds)
        writer.writeCommand(command)
        swap(&writer.bytes, &bytes)
    }

    /// Decodes an entry that `encoded()` produced. Throws on bytes that are truncated, have bytes left over,
    /// come from an unknown format version, or do not hold a command.
    public init(decoding bytes: some Collection<UInt8>) throws(EngineCodecError) {
        let decoded =
            bytes.withContiguousStorageIfAvailable { buffer in
                Self.decode(UnsafeRawBufferPointer(buffer))
            } ?? Array(bytes).withUnsafeBytes { Self.decode($0) }
        self = try decoded.get()
    }

    private static func decode(_ buffer: UnsafeRawBufferPointer) -> Result<Self, EngineCodecError> {
        Result { () throws(EngineCodecError) -> Self in
            var reader = BinaryReader(buffer)
            let version = try reader.readByte()
            guard (1...formatVersion).contains(version) else {
                throw reader.error(
                    .unsupportedVersion, "log entry format version \(version), this build reads 1 to \(formatVersion)")
            }
            reader.transfersCarryReceives = version >= 2
            let timestamp = try reader.readSigned()
            let command = try reader.readCommand()
            try reader.expectEnd()
            return LoggedCommand(command: command, timestampMilliseconds: timestamp)
        }
    }
}
