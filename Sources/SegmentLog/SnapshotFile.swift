import LZ4

/// A snapshot file, `snapshot-<index>.snap`: a 48-byte header, then the data (LZ4 when that pays).
///
///     0  8 bytes magic "FERRYSNP"
///     8  u16 format version (1)
///     10 u8  codec (LogRecordCodec)
///     11 u8  reserved, 0
///     12 u32 reserved, 0
///     16 u64 index
///     24 u64 term
///     32 u64 data length, uncompressed
///     40 u32 CRC-32C of the stored data
///     44 u32 CRC-32C of bytes 0..<44
///
/// Written to a temporary name, synced, renamed into place, and the directory synced: a crash leaves
/// either the old snapshot or the new one, never half of one.
enum SnapshotFile {
    static let headerByteCount = 48
    static let formatVersion: UInt16 = 1
    static let magic: [UInt8] = Array("FERRYSNP".utf8)
    static let temporarySuffix = ".tmp"

    static func name(index: UInt64) -> String {
        let digits = String(index)
        return "snapshot-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".snap"
    }

    static func index(fromName name: String) -> UInt64? {
        guard name.hasPrefix("snapshot-"), name.hasSuffix(".snap") else { return nil }
        let digits = name.dropFirst("snapshot-".count).dropLast(".snap".count)
        guard digits.count == 20, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(digits)
    }

    static func encode(_ snapshot: LogSnapshot, compress: Bool) -> [UInt8] {
        var stored = snapshot.data
        var codec = LogRecordCodec.raw
        if compress, snapshot.data.count >= 1024, snapshot.data.count <= LZ4.maxInputCount,
            let compressed = try? LZ4.compress(snapshot.data),
            compressed.count <= snapshot.data.count - snapshot.data.count / 8
        {
            stored = compressed
            codec = .lz4
        }
        var bytes = magic
        bytes.reserveCapacity(headerByteCount + stored.count)
        bytes.appendLittleEndian(formatVersion)
        bytes.append(codec.rawValue)
        bytes.append(0)
        bytes.appendLittleEndian(UInt32(0))
        bytes.appendLittleEndian(snapshot.index)
        bytes.appendLittleEndian(snapshot.term)
        bytes.appendLittleEndian(UInt64(snapshot.data.count))
        bytes.appendLittleEndian(CRC32C.checksum(stored))
        bytes.appendLittleEndian(CRC32C.checksum(bytes))
        bytes.append(contentsOf: stored)
        return bytes
    }

    /// Decodes and verifies a whole snapshot file; the error names what is wrong.
    static func decode(_ bytes: [UInt8]) -> Result<LogSnapshot, SnapshotFileProblem> {
        bytes.withUnsafeBytes { buffer in
            guard buffer.count >= headerByteCount else { return .failure(.init(offset: 0, reason: "header cut short")) }
            guard
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: buffer[0..<44]))
                    == buffer.loadLittleEndian(at: 44, as: UInt32.self)
            else { return .failure(.init(offset: 0, reason: "snapshot header checksum mismatch")) }
            guard Array(buffer[0..<8]) == magic, buffer.loadLittleEndian(at: 8, as: UInt16.self) == formatVersion else {
                return .failure(.init(offset: 0, reason: "not a version \(formatVersion) Ferry snapshot"))
            }
            guard let codec = LogRecordCodec(rawValue: buffer[10]) else {
                return .failure(.init(offset: 10, reason: "unknown codec \(buffer[10])"))
            }
            let index = buffer.loadLittleEndian(at: 16, as: UInt64.self)
            let term = buffer.loadLittleEndian(at: 24, as: UInt64.self)
            let length = buffer.loadLittleEndian(at: 32, as: UInt64.self)
            let stored = UnsafeRawBufferPointer(rebasing: buffer[headerByteCount...])
            guard CRC32C.checksum(stored) == buffer.loadLittleEndian(at: 40, as: UInt32.self) else {
                return .failure(.init(offset: headerByteCount, reason: "snapshot data checksum mismatch"))
            }
            switch codec {
            case .raw:
                guard UInt64(stored.count) == length else {
                    return .failure(.init(offset: 32, reason: "data is \(stored.count) bytes, header says \(length)"))
                }
                return .success(LogSnapshot(index: index, term: term, data: [UInt8](stored)))
            case .lz4:
                guard length <= UInt64(LZ4.maxInputCount),
                    let data = try? LZ4.decompress(stored, uncompressedCount: Int(length))
                else { return .failure(.init(offset: headerByteCount, reason: "LZ4 data does not decompress")) }
                return .success(LogSnapshot(index: index, term: term, data: data))
            }
        }
    }
}

/// Where and why a snapshot file failed verification.
struct SnapshotFileProblem: Error {
    var offset: Int
    var reason: String
}
