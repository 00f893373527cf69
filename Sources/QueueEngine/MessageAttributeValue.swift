/// The value of one message attribute: a data type (`String`, `Number` or `Binary`, with an optional
/// `.label`) and a string or binary value.
public struct MessageAttributeValue: Sendable, Equatable, Hashable, Codable {
    /// `String`, `Number` or `Binary`, optionally followed by `.customLabel`.
    public var dataType: String
    /// Set for `String` and `Number` types.
    public var stringValue: String?
    /// Set for `Binary` types: the decoded bytes.
    public var binaryValue: [UInt8]?

    public init(dataType: String, stringValue: String? = nil, binaryValue: [UInt8]? = nil) {
        self.dataType = dataType
        self.stringValue = stringValue
        self.binaryValue = binaryValue
    }

    /// The base type before any custom label.
    var baseType: Substring {
        dataType.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }

    /// Bytes counted toward the message size: name, data type and value.
    func sizeBytes(name: String) -> Int {
        name.utf8.count + dataType.utf8.count + (stringValue?.utf8.count ?? 0) + (binaryValue?.count ?? 0)
    }
}

/// Message attributes kept sorted by name, so hashes and encodings are deterministic.
public typealias MessageAttributes = [String: MessageAttributeValue]
