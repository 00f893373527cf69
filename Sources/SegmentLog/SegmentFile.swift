/// One segment file: a 32-byte header, then records back to back.
///
///     0  8 bytes magic "FERRYLOG"
///     8  u16 format version (2; version 1, whose records never mark a write start, is still read)
///     10 u16 codec the writer preferred (LogRecordCodec); each record still names its own
///     12 u32 reserved, 0
///     16 u64 sequence number (also in the file name)
///     24 u32 reserved, 0
///     28 u32 CRC-32C of bytes 0..<28
final class SegmentFile {
    static let headerByteCount = 32
    static let formatVersion: UInt16 = 2
    static let magic: [UInt8] = Array("FERRYLOG".utf8)

    let sequence: UInt64
    let name: String
    let file: any LogFile
    /// Where the next record goes: the end of the last valid record.
    var size: Int

    init(sequence: UInt64, name: String, file: any LogFile, size: Int) {
        self.sequence = sequence
        self.name = name
        self.file = file
        self.size = size
    }

    static func name(sequence: UInt64) -> String {
        let digits = String(sequence)
        return "segment-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    /// The sequence number in a segment file name, or nil for other files.
    static func sequence(fromName name: String) -> UInt64? {
        guard name.hasPrefix("segment-"), name.hasSuffix(".log") else { return nil }
        let digits = name.dropFirst("segment-".count).dropLast(".log".count)
        guard digits.count == 20, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(digits)
    }

    static func header(sequence: UInt64, codec: LogRecordCodec) -> [UInt8] {
        var bytes = magic
        bytes.appendLittleEndian(formatVersion)
        bytes.appendLittleEndian(UInt16(codec.rawValue))
        bytes.appendLittleEndian(UInt32(0))
        bytes.appendLittleEndian(sequence)
        bytes.appendLittleEndian(UInt32(0))
        bytes.appendLittleEndian(CRC32C.checksum(bytes))
        return bytes
    }

    /// Checks a segment header; returns why it is wrong, or nil.
    static func headerProblem(_ bytes: UnsafeRawBufferPointer, expectedSequence: UInt64) -> String? {
        guard bytes.count >= headerByteCount else { return "header is cut short" }
        let checksum = bytes.loadLittleEndian(at: 28, as: UInt32.self)
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<28])) == checksum else {
            return "segment header checksum mismatch"
        }
        guard Array(bytes[0..<8]) == magic else { return "not a Ferry log segment" }
        let version = bytes.loadLittleEndian(at: 8, as: UInt16.self)
        guard (1...formatVersion).contains(version) else { return "segment format version \(version) is not supported" }
        let sequence = bytes.loadLittleEndian(at: 16, as: UInt64.self)
        guard sequence == expectedSequence else { return "header names segment \(sequence)" }
        return nil
    }
}

/// A run of live entries stored in one record: the record may hold more (earlier ones compacted away,
/// later ones replaced), so a run names the slice that is current.
struct EntryRun: Sendable {
    var firstIndex: UInt64
    var count: Int
    let segmentSequence: UInt64
    /// The record's offset in its segment.
    let recordOffset: Int
    var lastIndex: UInt64 { firstIndex + UInt64(count) - 1 }
}
