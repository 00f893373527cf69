/// A protocol-neutral value tree. Both wire protocols decode into it; responses are built as it and encoded from it.
///
/// The JSON protocol maps onto it directly. The Query protocol yields only strings, lists and objects
/// (numbers and booleans stay strings; handlers convert them).
public enum WireValue: Sendable, Equatable {
    /// A string (JSON string, or any Query parameter value).
    case string(String)
    /// A JSON number without fraction or exponent that fits in `Int64`.
    case integer(Int64)
    /// A JSON number with a fraction or exponent, or an integral one outside `Int64`.
    case double(Double)
    /// A JSON `true` or `false`.
    case boolean(Bool)
    /// A JSON `null`.
    case null
    /// An ordered list of values.
    case list([WireValue])
    /// An object whose members keep their order.
    case object(WireObject)
}

extension WireValue {
    /// The string, when this is `.string`; otherwise nil.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, when this is `.integer`; otherwise nil.
    public var integerValue: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The number, when this is `.double` or `.integer`; otherwise nil.
    public var doubleValue: Double? {
        switch self {
        case .double(let value): return value
        case .integer(let value): return Double(value)
        default: return nil
        }
    }

    /// The flag, when this is `.boolean`; otherwise nil.
    public var booleanValue: Bool? {
        if case .boolean(let value) = self { return value }
        return nil
    }

    /// The object, when this is `.object`; otherwise nil.
    public var objectValue: WireObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The elements, when this is `.list`; otherwise nil.
    public var listValue: [WireValue]? {
        if case .list(let value) = self { return value }
        return nil
    }

    /// True when this is `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

extension WireValue: ExpressibleByStringLiteral {
    /// Creates `.string(value)`.
    public init(stringLiteral value: String) {
        self = .string(value)
    }
}

extension WireValue: ExpressibleByIntegerLiteral {
    /// Creates `.integer(value)`.
    public init(integerLiteral value: Int64) {
        self = .integer(value)
    }
}

extension WireValue: ExpressibleByFloatLiteral {
    /// Creates `.double(value)`.
    public init(floatLiteral value: Double) {
        self = .double(value)
    }
}

extension WireValue: ExpressibleByBooleanLiteral {
    /// Creates `.boolean(value)`.
    public init(booleanLiteral value: Bool) {
        self = .boolean(value)
    }
}

extension WireValue: ExpressibleByArrayLiteral {
    /// Creates `.list(elements)`.
    public init(arrayLiteral elements: WireValue...) {
        self = .list(elements)
    }
}

extension WireValue: ExpressibleByDictionaryLiteral {
    /// Creates `.object` with the members in the order written; a repeated name keeps its last value.
    public init(dictionaryLiteral elements: (String, WireValue)...) {
        self = .object(WireObject(orderedPairs: elements))
    }
}
