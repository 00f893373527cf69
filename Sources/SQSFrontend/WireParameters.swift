import Foundation
import QueueEngine
import SQSWire

/// Typed access to a decoded request's parameters, with SQS's errors for missing or malformed ones.
struct WireParameters {
    let object: WireObject

    init(_ object: WireObject) { self.object = object }

    static func missing(_ name: String) -> QueueError {
        QueueError(.missingParameter, "The request must contain the parameter \(name).")
    }

    static func invalid(_ name: String, _ detail: String) -> QueueError {
        QueueError(.invalidParameterValue, "Value for parameter \(name) is invalid. Reason: \(detail)")
    }

    func value(_ name: String) -> WireValue? {
        guard let value = object[name] else { return nil }
        if case .null = value { return nil }
        return value
    }

    func string(_ name: String) throws(QueueError) -> String? {
        switch value(name) {
        case nil: return nil
        case .string(let text): return text
        default: throw Self.invalid(name, "expected a string.")
        }
    }

    func requiredString(_ name: String) throws(QueueError) -> String {
        guard let text = try string(name) else { throw Self.missing(name) }
        return text
    }

    func integer(_ name: String) throws(QueueError) -> Int? {
        switch value(name) {
        case nil: return nil
        case .integer(let number):
            guard let small = Int(exactly: number), abs(small) <= Int(Int32.max) else {
                throw QueueError(.invalidParameterValue, "Value \(number) for parameter \(name) is invalid.")
            }
            return small
        case .string(let text):
            guard let number = Int(text.trimmingCharacters(in: .whitespaces)), abs(number) <= Int(Int32.max) else {
                throw QueueError(
                    .invalidParameterValue,
                    "Value \(text) for parameter \(name) is invalid. Reason: must be an integer.")
            }
            return number
        default: throw Self.invalid(name, "expected an integer.")
        }
    }

    func stringList(_ name: String) throws(QueueError) -> [String] {
        switch value(name) {
        case nil: return []
        case .list(let items):
            var out: [String] = []
            for item in items {
                guard case .string(let text) = item else { throw Self.invalid(name, "expected a list of strings.") }
                out.append(text)
            }
            return out
        default: throw Self.invalid(name, "expected a list of strings.")
        }
    }

    func stringMap(_ name: String) throws(QueueError) -> [String: String] {
        switch value(name) {
        case nil: return [:]
        case .object(let members):
            var out: [String: String] = [:]
            for member in members.members {
                switch member.value {
                case .string(let text): out[member.name] = text
                default: throw Self.invalid(name, "expected a map of strings.")
                }
            }
            return out
        default: throw Self.invalid(name, "expected a map of strings.")
        }
    }

    func objectList(_ name: String) throws(QueueError) -> [WireParameters] {
        switch value(name) {
        case nil: return []
        case .list(let items):
            var out: [WireParameters] = []
            for item in items {
                guard case .object(let entry) = item else { throw Self.invalid(name, "expected a list of structures.") }
                out.append(WireParameters(entry))
            }
            return out
        default: throw Self.invalid(name, "expected a list of structures.")
        }
    }

    /// A map of message attributes: `{name: {DataType, StringValue | BinaryValue (base64)}}`.
    func messageAttributes(_ name: String) throws(QueueError) -> MessageAttributes {
        guard let value = value(name) else { return [:] }
        guard case .object(let members) = value else { throw Self.invalid(name, "expected a map.") }
        var out: MessageAttributes = [:]
        for member in members.members {
            guard case .object(let fields) = member.value else { throw Self.invalid(name, "expected a structure.") }
            let attribute = WireParameters(fields)
            let dataType = try attribute.string("DataType") ?? ""
            if attribute.value("StringListValues") != nil || attribute.value("BinaryListValues") != nil {
                throw QueueError(
                    .invalidParameterValue,
                    "Message attribute list values in SendMessage operation are not supported.")
            }
            var binary: [UInt8]?
            if let encoded = try attribute.string("BinaryValue") {
                guard let data = Data(base64Encoded: encoded) else {
                    throw QueueError(
                        .invalidParameterValue,
                        "The binary value of message attribute '\(member.name)' is not valid base64.")
                }
                binary = [UInt8](data)
            }
            out[member.name] = MessageAttributeValue(
                dataType: dataType, stringValue: try attribute.string("StringValue"), binaryValue: binary)
        }
        return out
    }
}

extension WireValue {
    /// Encodes message attributes for a response.
    static func messageAttributes(_ attributes: MessageAttributes) -> WireValue {
        var object = WireObject()
        for name in attributes.keys.sorted() {
            let value = attributes[name]!
            var fields = WireObject()
            if let text = value.stringValue { fields["StringValue"] = .string(text) }
            if let binary = value.binaryValue { fields["BinaryValue"] = .string(Data(binary).base64EncodedString()) }
            fields["DataType"] = .string(value.dataType)
            object[name] = .object(fields)
        }
        return .object(object)
    }

    static func stringMap(_ map: [String: String]) -> WireValue {
        var object = WireObject()
        for key in map.keys.sorted() { object[key] = .string(map[key]!) }
        return .object(object)
    }
}
