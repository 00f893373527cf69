/// Bytes that are not a valid log record or snapshot of the queue engine: truncated, corrupted, written by
/// a newer format version, or taken by another shard.
///
/// A struct wrapping a code, so new codes break nobody.
public struct EngineCodecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure it is.
    public var code: Code
    /// What was wrong, for the operator's log.
    public var message: String
    /// The byte offset at which decoding stopped.
    public var offset: Int

    /// An error of kind `code` found at byte `offset`.
    public init(_ code: Code, _ message: String, offset: Int) {
        self.code = code
        self.message = message
        self.offset = offset
    }

    /// Kinds of decoding failure.
    public enum Code: String, Sendable, Equatable, Hashable, CaseIterable {
        /// The bytes end before the value does.
        case truncated
        /// A value is out of range or inconsistent (bad tag, overlong varint, invalid UTF-8, unsorted keys,
        /// trailing bytes…).
        case malformed
        /// The magic bytes do not name a Ferry snapshot.
        case notASnapshot
        /// Written by a format version this build does not read.
        case unsupportedVersion
        /// A snapshot whose checksum does not match its contents.
        case checksumMismatch
        /// A snapshot of another shard, account or region than the engine restoring it.
        case wrongShard
    }

    /// The code, offset and message on one line.
    public var description: String { "\(code.rawValue) at byte \(offset): \(message)" }
}
