/// Reads what `BinaryWriter` wrote, from bytes that may be truncated, corrupted or hostile: every read checks
/// the bytes left, every length and count is checked against them before anything is allocated, and only
/// the one canonical encoding of a value is accepted (minimal varints, flags 0 or 1, sorted unique map keys,
/// valid UTF-8), so a value decoded from bytes encodes back to the same bytes.
///
/// Valid only inside the `withUnsafeBytes` (or similar) call that lent `buffer`.
struct BinaryReader {
    private let buffer: UnsafeRawBufferPointer
    private(set) var offset = 0
    /// Whether a transferred message ends with its receive count and first receive time (log entry
    /// format 2, snapshot format 3).
    var transfersCarryReceives = true
    /// Whether a FIFO ready group starts with when its head became visible (snapshot format 3).
    var readyGroupsCarryTimes = true

    init(_ buffer: UnsafeRawBufferPointer) {
        self.buffer = buffer
    }

    var remaining: Int { buffer.count - offset }

    func error(_ code: EngineCodecError.Code, _ message: String) -> EngineCodecError {
        EngineCodecError(code, message, offset: offset)
    }

    func malformed(_ message: String) -> EngineCodecError { error(.malformed, message) }

    /// Throws unless every byte has been read.
    func expectEnd() throws(EngineCodecError) {
        guard remaining == 0 else { throw malformed("\(remaining) unexpected bytes after the end") }
    }

    mutating func readByte() throws(EngineCodecError) -> UInt8 {
        guard offset < buffer.count else { throw error(.truncated, "expected a byte") }
        defer { offset += 1 }
        return buffer[offset]
    }

    /// `count` raw bytes, without copying.
    mutating func readRaw(_ count: Int) throws(EngineCodecError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else {
            throw error(.truncated, "expected \(count) bytes, \(remaining) left")
        }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + count)])
    }

    mutating func readVarint() throws(EngineCodecError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            if shift == 63 && byte > 1 { throw malformed("varint exceeds 64 bits") }
            value |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 {
                if byte == 0 && shift > 0 { throw malformed("varint is not minimal") }
                return value
            }
            shift += 7
        }
    }

    mutating func readUInt32() throws(EngineCodecError) -> UInt32 {
        let value = try readVarint()
        guard let narrow = UInt32(exactly: value) else { throw malformed("\(value) exceeds 32 bits") }
        return narrow
    }

    mutating func readSigned() throws(EngineCodecError) -> Int64 {
        let value = try readVarint()
        return Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }

    mutating func readInt() throws(EngineCodecError) -> Int {
        let value = try readSigned()
        guard let narrow = Int(exactly: value) else { throw malformed("\(value) exceeds Int") }
        return narrow
    }

    /// A signed integer that must lie in `range`.
    mutating func readSigned(in range: ClosedRange<Int64>, _ name: String) throws(EngineCodecError) -> Int64 {
        let value = try readSigned()
        guard range.contains(value) else { throw malformed("\(name) \(value) outside \(range)") }
        return value
    }

    /// An integer that must lie in `range`.
    mutating func readInt(in range: ClosedRange<Int>, _ name: String) throws(EngineCodecError) -> Int {
        let value = try readInt()
        guard range.contains(value) else { throw malformed("\(name) \(value) outside \(range)") }
        return value
    }

    /// A count of elements each at least `elementBytesMin` long: at most what the bytes left can hold.
    mutating func readCount(elementBytesMin: Int = 1) throws(EngineCodecError) -> Int {
        let value = try readVarint()
        guard value <= UInt64(remaining / max(1, elementBytesMin)) else {
            throw error(.truncated, "count \(value) exceeds the \(remaining) bytes left")
        }
        return Int(value)
    }

    mutating func readBool() throws(EngineCodecError) -> Bool {
        switch try readByte() {
        case 0: return false
        case 1: return true
        case let other: throw malformed("flag byte \(other) is neither 0 nor 1")
        }
    }

    mutating func readString() throws(EngineCodecError) -> String {
        let count = try readCount()
        let raw = try readRaw(count)
        // The lent bytes are bound to UInt8: they come from a [UInt8] or a contiguous UInt8 collection.
        let utf8 = raw.assumingMemoryBound(to: UInt8.self)
        if Self.isASCII(raw) { return String(decoding: utf8, as: UTF8.self) }
        guard let string = String(validating: utf8, as: UTF8.self) else { throw malformed("string is not UTF-8") }
        return string
    }

    /// Whether every byte is below 0x80, eight at a time: most strings are ASCII, and ASCII is valid UTF-8.
    private static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let highBits: UInt64 = 0x8080_8080_8080_8080
        var offset = 0
        var seen: UInt64 = 0
        while offset + 8 <= bytes.count {
            seen |= bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        while offset < bytes.count {
            seen |= UInt64(bytes[offset])
            offset += 1
        }
        return seen & highBits == 0
    }

    mutating func readBytes() throws(EngineCodecError) -> [UInt8] {
        let count = try readCount()
        return [UInt8](try readRaw(count))
    }

    mutating func readOptional<Value>(
        _ read: (inout Self) throws(EngineCodecError) -> Value
    ) throws(EngineCodecError) -> Value? {
        try readBool() ? try read(&self) : nil
    }

    mutating func readOptionalString() throws(EngineCodecError) -> String? {
        try readOptional { reader throws(EngineCodecError) in try reader.readString() }
    }

    mutating func readOptionalSigned(
        in range: ClosedRange<Int64>, _ name: String
    ) throws(EngineCodecError) -> Int64? {
        try readOptional { reader throws(EngineCodecError) in try reader.readSigned(in: range, name) }
    }

    mutating func readOptionalInt() throws(EngineCodecError) -> Int? {
        try readOptional { reader throws(EngineCodecError) in try reader.readInt() }
    }

    mutating func readStrings() throws(EngineCodecError) -> [String] {
        let count = try readCount()
        var values: [String] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try readString()) }
        return values
    }

    /// A map whose keys must be sorted by their UTF-8 bytes and distinct.
    mutating func readMap<Value>(
        _ read: (inout Self) throws(EngineCodecError) -> Value
    ) throws(EngineCodecError) -> [String: Value] {
        try readKeyedMap { reader, _ throws(EngineCodecError) in try read(&reader) }
    }

    /// A map whose keys must be sorted by their UTF-8 bytes and distinct; `read` is given each key.
    mutating func readKeyedMap<Value>(
        _ read: (inout Self, String) throws(EngineCodecError) -> Value
    ) throws(EngineCodecError) -> [String: Value] {
        let count = try readCount(elementBytesMin: 2)
        var map: [String: Value] = [:]
        if count == 0 { return map }
        var previous: String?
        for _ in 0..<count {
            let key = try readString()
            if let previous, !MessageDigest.utf8Less(previous, key) { throw malformed("map keys not sorted") }
            let value = try read(&self, key)
            // Canonically equivalent keys (é and e + ◌́) are one Swift key: a second one is a duplicate.
            guard map.updateValue(value, forKey: key) == nil else { throw malformed("duplicate map key") }
            previous = key
        }
        return map
    }

    mutating func readStringMap() throws(EngineCodecError) -> [String: String] {
        try readMap { reader throws(EngineCodecError) in try reader.readString() }
    }
}
