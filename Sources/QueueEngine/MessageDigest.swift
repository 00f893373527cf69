import Crypto

/// The MD5 digests SQS returns so clients can check what arrived (SQS-REFERENCE.md §4).
enum MessageDigest {
    /// Hex MD5 of the UTF-8 body.
    static func md5(ofBody body: String) -> String {
        var hasher = Insecure.MD5()
        hasher.update(data: Array(body.utf8))
        return hex(hasher.finalize())
    }

    /// Hex MD5 of message attributes by AWS's algorithm, or nil when there are none: for each attribute
    /// sorted by name, length-prefixed name and data type, a transport byte (1 string, 2 binary), then the
    /// length-prefixed value.
    static func md5(ofAttributes attributes: MessageAttributes) -> String? {
        if attributes.isEmpty { return nil }
        var bytes: [UInt8] = []
        for name in attributes.keys.sorted(by: utf8Less) {
            let value = attributes[name]!
            appendLengthPrefixed(Array(name.utf8), to: &bytes)
            appendLengthPrefixed(Array(value.dataType.utf8), to: &bytes)
            if let binary = value.binaryValue {
                bytes.append(2)
                appendLengthPrefixed(binary, to: &bytes)
            } else {
                bytes.append(1)
                appendLengthPrefixed(Array((value.stringValue ?? "").utf8), to: &bytes)
            }
        }
        var hasher = Insecure.MD5()
        hasher.update(data: bytes)
        return hex(hasher.finalize())
    }

    /// Attribute names sort by their UTF-8 bytes, as the SDKs do.
    static func utf8Less(_ left: String, _ right: String) -> Bool {
        left.utf8.lexicographicallyPrecedes(right.utf8)
    }

    private static func appendLengthPrefixed(_ value: [UInt8], to bytes: inout [UInt8]) {
        let count = UInt32(value.count)
        bytes.append(UInt8(truncatingIfNeeded: count >> 24))
        bytes.append(UInt8(truncatingIfNeeded: count >> 16))
        bytes.append(UInt8(truncatingIfNeeded: count >> 8))
        bytes.append(UInt8(truncatingIfNeeded: count))
        bytes.append(contentsOf: value)
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Hex SHA-256 of the body: the deduplication id of content-based deduplication.
    static func sha256(ofBody body: String) -> String {
        hex(SHA256.hash(data: Array(body.utf8)))
    }
}
