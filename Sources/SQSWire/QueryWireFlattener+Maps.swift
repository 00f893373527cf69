/// Accumulates the members of one level, in the order their names first appear.
struct WireStructureBuilder {
    /// One member being built: its parameters, with their list or map index (0 for plain ones).
    struct Slot {
        var name: String
        var kind: WireQueryFlattener.Kind
        var items: [(index: Int, parameter: WireQueryParameter)] = []

        /// The parameters grouped by index, in index order; each group keeps arrival order.
        func groupedByIndex() -> [[WireQueryParameter]] {
            let ordered = items.enumerated().sorted { left, right in
                (left.element.index, left.offset) < (right.element.index, right.offset)
            }
            var groups: [[WireQueryParameter]] = []
            var currentIndex = -1
            for (_, item) in ordered {
                if item.index != currentIndex {
                    groups.append([])
                    currentIndex = item.index
                }
                groups[groups.count - 1].append(item.parameter)
            }
            return groups
        }
    }

    var slots: [Slot] = []
    var slotPositions: [String: Int] = [:]

    /// Adds a parameter to the member `target`; a name sent as two kinds keeps the last kind.
    mutating func add(_ parameter: WireQueryParameter, index: Int, to target: String, kind: WireQueryFlattener.Kind) {
        guard let position = slotPositions[target] else {
            slotPositions[target] = slots.count
            slots.append(Slot(name: target, kind: kind, items: [(index, parameter)]))
            return
        }
        if slots[position].kind != kind {
            slots[position].kind = kind
            slots[position].items.removeAll()
        }
        slots[position].items.append((index, parameter))
    }
}

extension WireQueryFlattener {
    /// `Attribute.N.Name/.Value` or `Tag.N.Key/.Value` → {key: value}; a repeated key keeps its last value.
    func stringMap(_ groups: [[WireQueryParameter]], keyField: String) throws(WireDecodingError) -> WireObject {
        var object = WireObject()
        for parameters in groups {
            var key: String?
            var value: String?
            for parameter in parameters {
                guard parameter.path.count == 1, let field = parameter.path.first else {
                    throw unexpectedField(parameter, expected: "\(keyField) or Value")
                }
                switch field {
                case Substring(keyField): key = parameter.value
                case "Value": value = parameter.value
                default: throw unexpectedField(parameter, expected: "\(keyField) or Value")
                }
            }
            let entryName = parameters.first?.entryName ?? "?"
            guard let key else {
                throw WireDecodingError(message: "parameter '\(entryName).\(keyField)' is missing")
            }
            guard let value else {
                throw WireDecodingError(message: "parameter '\(entryName).Value' is missing")
            }
            object[key] = .string(value)
        }
        return object
    }

    /// `MessageAttribute.N.Name` + `.Value.*` → {name: {StringValue, BinaryValue, DataType, …}}.
    /// An entry without any `Value.*` gets an empty object (the handler reports the missing DataType).
    func attributeValueMap(_ groups: [[WireQueryParameter]]) throws(WireDecodingError) -> WireObject {
        var object = WireObject()
        for parameters in groups {
            var name: String?
            var valueParameters: [WireQueryParameter] = []
            for var parameter in parameters {
                switch parameter.path.first {
                case "Name" where parameter.path.count == 1:
                    name = parameter.value
                case "Value" where parameter.path.count >= 2:
                    parameter.path = parameter.path.dropFirst()
                    valueParameters.append(parameter)
                default:
                    throw unexpectedField(parameter, expected: "Name or Value.<field>")
                }
            }
            guard let name else {
                let entryName = parameters.first?.entryName ?? "?"
                throw WireDecodingError(message: "parameter '\(entryName).Name' is missing")
            }
            object[name] = .object(try structure(from: valueParameters, level: .attributeValue))
        }
        return object
    }

    private func unexpectedField(_ parameter: WireQueryParameter, expected: String) -> WireDecodingError {
        WireDecodingError(
            message: "unexpected parameter '\(parameter.fullName)': expected \(parameter.entryName).\(expected)")
    }
}
