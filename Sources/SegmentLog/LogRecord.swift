import LZ4

/// What a record in a segment holds.
enum LogRecordKind: UInt8, Sendable {
    /// Entries `firstIndex ..< firstIndex + entryCount`; they replace any entries from `firstIndex` on.
    case entries = 1
    /// A hard state (term, vote, commit); the last one in the log is current.
    case hardState = 2
    /// Drops every entry after `firstIndex`.
    case truncate = 3
}

/// How a record's body is stored.
enum LogRecordCodec: UInt8, Sendable {
    case raw = 0
    case lz4 = 1
}

/// The fixed 32-byte header in front of each record, little-endian:
///
///     0  u32 storedLength      body bytes as stored
///     4  u8  kind              LogRecordKind
///     5  u8  codec             LogRecordCodec
///     6  u16 flags             bit 0: this record starts a write made when every byte before it
///                              was already synced (see `SegmentLog` recovery); other bits 0
///     8  u64 firstIndex        entries: first index; truncate: last index kept
///     16 u32 entryCount
///     20 u32 uncompressedLength
///     24 u32 bodyChecksum      CRC-32C of the stored body
///     28 u32 headerChecksum    CRC-32C of bytes 0..<28
struct LogRecordHeader: Sendable, Equatable {
    static let byteCount = 32

    var storedLength: Int
    var kind: LogRecordKind
    var codec: LogRecordCodec
    var firstIndex: UInt64
    var entryCount: Int
    var uncompressedLength: Int
    var bodyChecksum: UInt32
    var flags: UInt16 = 0

    /// Flag bit: the first record of a write that began with everything before it synced.
    static let startsWriteAfterSync: UInt16 = 1
}

/// Why bytes did not decode as a record.
enum LogRecordDecodingError: Error, Equatable, CustomStringConvertible {
    case headerChecksumMismatch
    case unknownKind(UInt8)
    case unknownCodec(UInt8)
    case badLength(String)
    case bodyChecksumMismatch
    case badBody(String)

    var description: String {
        switch self {
        case .headerChecksumMismatch: "record header checksum mismatch"
        case .unknownKind(let kind): "unknown record kind \(kind)"
        case .unknownCodec(let codec): "unknown record codec \(codec)"
        case .badLength(let reason), .badBody(let reason): reason
        case .bodyChecksumMismatch: "record body checksum mismatch"
        }
    }
}

/// Frames records: header, checksums, optional LZ4.
enum LogRecordEncoder {
    /// Appends one entries record holding `entries` (contiguous, from `entries[0].index`).
    static func appendEntries(_ entries: some Collection<LogEntry>, compressionBytesMin: Int, to output: inout [UInt8])
    {
        var body: [UInt8] = []
        body.reserveCapacity(entries.reduce(0) { $0 + 12 + $1.payload.count })
        for entry in entries {
            body.appendLittleEndian(entry.term)
            body.appendLittleEndian(UInt32(entry.payload.count))
            body.append(contentsOf: entry.payload)
        }
        appendRecord(
            kind: .entries, firstIndex: entries.first?.index ?? 0, entryCount: entries.count, body: body,
            compressionBytesMin: compressionBytesMin, to: &output)
    }

    /// Appends a hard-state record.
    static func appendHardState(_ state: HardState, to output: inout [UInt8]) {
        var body: [UInt8] = []
        body.appendLittleEndian(state.term)
        body.appendLittleEndian(state.vote)
        body.appendLittleEndian(state.commit)
        appendRecord(kind: .hardState, firstIndex: 0, entryCount: 0, body: body, compressionBytesMin: .max, to: &output)
    }

    /// Appends a record that drops every entry after `lastKept`.
    static func appendTruncate(lastKept: UInt64, to output: inout [UInt8]) {
        appendRecord(
            kind: .truncate, firstIndex: lastKept, entryCount: 0, body: [], compressionBytesMin: .max, to: &output)
    }

    private static func appendRecord(
        kind: LogRecordKind, firstIndex: UInt64, entryCount: Int, body: [UInt8], compressionBytesMin: Int,
        to output: inout [UInt8]
    ) {
        var stored = body
        var codec = LogRecordCodec.raw
        if body.count >= compressionBytesMin, let compressed = try? LZ4.compress(body),
            compressed.count <= body.count - body.count / 8
        {
            stored = compressed
            codec = .lz4
        }
        let headerStart = output.count
        output.appendLittleEndian(UInt32(stored.count))
        output.append(kind.rawValue)
        output.append(codec.rawValue)
        output.appendLittleEndian(UInt16(0))
        output.appendLittleEndian(firstIndex)
        output.appendLittleEndian(UInt32(entryCount))
        output.appendLittleEndian(UInt32(body.count))
        output.appendLittleEndian(stored.withUnsafeBytes { CRC32C.checksum($0) })
        let headerChecksum = output.withUnsafeBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[headerStart...]))
        }
        output.appendLittleEndian(headerChecksum)
        output.append(contentsOf: stored)
    }
}

extension LogRecordEncoder {
    /// Marks the record at the start of `bytes` as starting a write made after everything before it was
    /// synced, re-sealing its header checksum.
    static func markWriteAfterSync(_ bytes: inout [UInt8]) {
        guard bytes.count >= LogRecordHeader.byteCount else { return }
        bytes[6] |= UInt8(LogRecordHeader.startsWriteAfterSync)
        let checksum = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<28])) }
        withUnsafeBytes(of: checksum.littleEndian) { bytes.replaceSubrange(28..<32, with: $0) }
    }
}

/// Reads records back, verifying both checksums before trusting a byte.
enum LogRecordDecoder {
    /// Decodes and verifies a 32-byte header.
    static func header(_ bytes: UnsafeRawBufferPointer) throws(LogRecordDecodingError) -> LogRecordHeader {
        precondition(bytes.count >= LogRecordHeader.byteCount, "header needs 32 bytes, got \(bytes.count)")
        let expected = bytes.loadLittleEndian(at: 28, as: UInt32.self)
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<28])) == expected else {
            throw .headerChecksumMismatch
        }
        guard let kind = LogRecordKind(rawValue: bytes[4]) else { throw .unknownKind(bytes[4]) }
        guard let codec = LogRecordCodec(rawValue: bytes[5]) else { throw .unknownCodec(bytes[5]) }
        let header = LogRecordHeader(
            storedLength: Int(bytes.loadLittleEndian(at: 0, as: UInt32.self)), kind: kind, codec: codec,
            firstIndex: bytes.loadLittleEndian(at: 8, as: UInt64.self),
            entryCount: Int(bytes.loadLittleEndian(at: 16, as: UInt32.self)),
            uncompressedLength: Int(bytes.loadLittleEndian(at: 20, as: UInt32.self)),
            bodyChecksum: bytes.loadLittleEndian(at: 24, as: UInt32.self),
            flags: bytes.loadLittleEndian(at: 6, as: UInt16.self))
        guard header.storedLength <= SegmentLogOptions.recordBytesMax,
            header.uncompressedLength <= SegmentLogOptions.recordBytesMax
        else { throw .badLength("record of \(header.storedLength) bytes is over the limit") }
        guard codec == .lz4 || header.storedLength == header.uncompressedLength else {
            throw .badLength("raw record stores \(header.storedLength) bytes but claims \(header.uncompressedLength)")
        }
        return header
    }

    /// Verifies and decompresses a record body.
    static func body(_ stored: UnsafeRawBufferPointer, header: LogRecordHeader) throws(LogRecordDecodingError)
        -> [UInt8]
    {
        guard stored.count == header.storedLength else { throw .badLength("body is \(stored.count) bytes") }
        guard CRC32C.checksum(stored) == header.bodyChecksum else { throw .bodyChecksumMismatch }
        switch header.codec {
        case .raw: return [UInt8](stored)
        case .lz4:
            do {
                return try LZ4.decompress(stored, uncompressedCount: header.uncompressedLength)
            } catch {
                throw .badBody("LZ4 block does not decompress: \(error)")
            }
        }
    }

    /// The entries of a verified entries body.
    static func entries(_ body: [UInt8], header: LogRecordHeader) throws(LogRecordDecodingError) -> [LogEntry] {
        var entries: [LogEntry] = []
        entries.reserveCapacity(min(header.entryCount, body.count / 12))
        var offset = 0
        let result = body.withUnsafeBytes { bytes in
            Result { () throws(LogRecordDecodingError) in
                for position in 0..<header.entryCount {
                    guard bytes.count - offset >= 12 else { throw .badBody("entry \(position) is cut short") }
                    let term = bytes.loadLittleEndian(at: offset, as: UInt64.self)
                    let length = Int(bytes.loadLittleEndian(at: offset + 8, as: UInt32.self))
                    offset += 12
                    guard bytes.count - offset >= length else {
                        throw .badBody("entry \(position) payload is cut short")
                    }
                    entries.append(
                        LogEntry(
                            index: header.firstIndex + UInt64(position), term: term,
                            payload: [UInt8](UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]))))
                    offset += length
                }
            }
        }
        try result.get()
        guard offset == body.count else { throw .badBody("\(body.count - offset) bytes after the last entry") }
        return entries
    }

    /// The terms of a verified entries body, checking its framing without copying payloads.
    static func terms(_ body: [UInt8], header: LogRecordHeader) throws(LogRecordDecodingError) -> [UInt64] {
        var terms: [UInt64] = []
        terms.reserveCapacity(min(header.entryCount, body.count / 12))
        var offset = 0
        let result = body.withUnsafeBytes { bytes in
            Result { () throws(LogRecordDecodingError) in
                for position in 0..<header.entryCount {
                    guard bytes.count - offset >= 12 else { throw .badBody("entry \(position) is cut short") }
                    terms.append(bytes.loadLittleEndian(at: offset, as: UInt64.self))
                    let length = Int(bytes.loadLittleEndian(at: offset + 8, as: UInt32.self))
                    offset += 12
                    guard bytes.count - offset >= length else {
                        throw .badBody("entry \(position) payload is cut short")
                    }
                    offset += length
                }
            }
        }
        try result.get()
        guard offset == body.count else { throw .badBody("\(body.count - offset) bytes after the last entry") }
        return terms
    }

    /// The hard state of a verified hard-state body.
    static func hardState(_ body: [UInt8]) throws(LogRecordDecodingError) -> HardState {
        guard body.count == 24 else { throw .badBody("hard state is \(body.count) bytes, expected 24") }
        return body.withUnsafeBytes { bytes in
            HardState(
                term: bytes.loadLittleEndian(at: 0, as: UInt64.self),
                vote: bytes.loadLittleEndian(at: 8, as: UInt64.self),
                commit: bytes.loadLittleEndian(at: 16, as: UInt64.self))
        }
    }
}

extension [UInt8] {
    package mutating func appendLittleEndian<Value: FixedWidthInteger>(_ value: Value) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

extension UnsafeRawBufferPointer {
    package func loadLittleEndian<Value: FixedWidthInteger>(at offset: Int, as type: Value.Type) -> Value {
        Value(littleEndian: loadUnaligned(fromByteOffset: offset, as: Value.self))
    }
}
