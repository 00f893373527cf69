/// Appends the primitive values of Ferry's binary engine formats (log records and snapshots) to a byte
/// array. `BinaryReader` reads them back.
///
/// - Unsigned integers: LEB128 varints, least significant 7 bits first, minimal length.
/// - Signed integers: zigzag-mapped to unsigned, then varints.
/// - Booleans and presence flags: one byte, 0 or 1.
/// - Strings and byte arrays: a varint length in bytes, then the bytes (strings as UTF-8).
/// - String-keyed maps: a varint count, then the entries sorted by the UTF-8 bytes of their keys, so one
///   value always has one encoding.
struct BinaryWriter {
    var bytes: [UInt8]

    init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func writeByte(_ value: UInt8) {
        bytes.append(value)
    }

    mutating func writeVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: rest))
    }

    mutating func writeVarint(_ value: UInt32) { writeVarint(UInt64(value)) }

    /// A count or length: never negative.
    mutating func writeCount(_ value: Int) {
        precondition(value >= 0, "count \(value) < 0")
        writeVarint(UInt64(value))
    }

    mutating func writeSigned(_ value: Int64) {
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func writeInt(_ value: Int) { writeSigned(Int64(value)) }

    mutating func writeBool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func writeString(_ value: String) {
        let written: Void? = value.utf8.withContiguousStorageIfAvailable { utf8 in
            writeCount(utf8.count)
            bytes.append(contentsOf: utf8)
        }
        if written == nil { writeBytes(Array(value.utf8)) }
    }

    mutating func writeBytes(_ value: [UInt8]) {
        writeCount(value.count)
        bytes.append(contentsOf: value)
    }

    /// A presence flag, then the value if there is one.
    mutating func writeOptional<Value>(_ value: Value?, _ write: (inout Self, Value) -> Void) {
        guard let value else {
            bytes.append(0)
            return
        }
        bytes.append(1)
        write(&self, value)
    }

    mutating func writeOptionalString(_ value: String?) { writeOptional(value) { $0.writeString($1) } }

    mutating func writeOptionalSigned(_ value: Int64?) { writeOptional(value) { $0.writeSigned($1) } }

    mutating func writeOptionalInt(_ value: Int?) { writeOptional(value) { $0.writeInt($1) } }

    mutating func writeStrings(_ values: [String]) {
        writeCount(values.count)
        for value in values { writeString(value) }
    }

    /// A map with its entries sorted by the UTF-8 bytes of their keys.
    mutating func writeMap<Value>(_ map: [String: Value], _ write: (inout Self, Value) -> Void) {
        writeCount(map.count)
        switch map.count {
        case 0:
            return
        case 1:
            let (key, value) = map.first!
            writeString(key)
            write(&self, value)
        default:
            for (key, value) in map.sorted(by: { MessageDigest.utf8Less($0.key, $1.key) }) {
                writeString(key)
                write(&self, value)
            }
        }
    }

    mutating func writeStringMap(_ map: [String: String]) { writeMap(map) { $0.writeString($1) } }
}
