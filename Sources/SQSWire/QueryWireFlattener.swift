/// Folds flattened Query parameter names (`Attribute.1.Name`, `SendMessageBatchRequestEntry.2.Id`)
/// into a `WireObject`, by the rules documented on `QueryWireDecoder.decode(pairs:)`.
struct WireQueryFlattener {
    /// Where a group of parameters sits; each level has its own flattening rules.
    enum Level: Equatable {
        /// The request itself.
        case request
        /// One `…BatchRequestEntry.N`.
        case batchEntry
        /// The `Value` of one `MessageAttribute.N` or `MessageSystemAttribute.N`.
        case attributeValue
    }

    /// How the parameters of one member are folded.
    enum Kind: Equatable {
        /// A single string.
        case plain
        /// A list sent empty (`AttributeNames=`).
        case emptyList
        /// `Name.N` → list of strings.
        case stringList
        /// `Name.N.{keyField,Value}` → object of strings.
        case stringMap(keyField: String)
        /// `Name.N.Name` + `Name.N.Value.*` → object of attribute-value objects.
        case attributeValueMap
        /// `Name.N.*` → list of objects.
        case entryList
    }

    /// A flattened name's first segment, and the member it folds into.
    struct Rule {
        var target: String
        var kind: Kind
    }

    /// Rules of the request and batch-entry levels, by first name segment (query-protocol SQS model:
    /// `locationName` of flattened list members and maps).
    static let structureRules: [Substring: Rule] = [
        "AttributeName": Rule(target: "AttributeNames", kind: .stringList),
        "MessageAttributeName": Rule(target: "MessageAttributeNames", kind: .stringList),
        "MessageSystemAttributeName": Rule(target: "MessageSystemAttributeNames", kind: .stringList),
        "TagKey": Rule(target: "TagKeys", kind: .stringList),
        "AWSAccountId": Rule(target: "AWSAccountIds", kind: .stringList),
        "ActionName": Rule(target: "Actions", kind: .stringList),
        "Attribute": Rule(target: "Attributes", kind: .stringMap(keyField: "Name")),
        "Tag": Rule(target: "Tags", kind: .stringMap(keyField: "Key")),
        "MessageAttribute": Rule(target: "MessageAttributes", kind: .attributeValueMap),
        "MessageSystemAttribute": Rule(target: "MessageSystemAttributes", kind: .attributeValueMap),
        "SendMessageBatchRequestEntry": Rule(target: "Entries", kind: .entryList),
        "DeleteMessageBatchRequestEntry": Rule(target: "Entries", kind: .entryList),
        "ChangeMessageVisibilityBatchRequestEntry": Rule(target: "Entries", kind: .entryList),
    ]

    /// Rules inside a message attribute's `Value`.
    static let attributeValueRules: [Substring: Rule] = [
        "StringListValue": Rule(target: "StringListValues", kind: .stringList),
        "BinaryListValue": Rule(target: "BinaryListValues", kind: .stringList),
    ]

    /// Member names of lists, which botocore sends as `Member=` when the list is empty.
    static let structureListTargets: Set<Substring> = [
        "AttributeNames", "MessageAttributeNames", "MessageSystemAttributeNames", "TagKeys", "AWSAccountIds",
        "Actions", "Entries",
    ]
    static let attributeValueListTargets: Set<Substring> = ["StringListValues", "BinaryListValues"]

    /// The request's `Action`; `CreateQueue` names its tag map `tags`.
    let action: String?

    func rule(for segment: Substring, level: Level) -> Rule? {
        guard level != .attributeValue else { return Self.attributeValueRules[segment] }
        guard var rule = Self.structureRules[segment] else { return nil }
        if rule.target == "Tags", level == .request, action == "CreateQueue" { rule.target = "tags" }
        return rule
    }

    /// The list a bare, empty-valued name stands for: botocore sends an empty list as `Member=`
    /// (the member's serialized name), so both the flattened and the member name are accepted.
    func emptyListTarget(for segment: Substring, level: Level) -> String? {
        if let rule = rule(for: segment, level: level) {
            return rule.kind == .stringList || rule.kind == .entryList ? rule.target : nil
        }
        let targets = level == .attributeValue ? Self.attributeValueListTargets : Self.structureListTargets
        return targets.contains(segment) ? String(segment) : nil
    }

    /// Folds the parameters of one level into an object.
    func structure(from parameters: [WireQueryParameter], level: Level) throws(WireDecodingError) -> WireObject {
        var builder = WireStructureBuilder()
        for var parameter in parameters {
            guard let head = parameter.path.first else {
                throw WireDecodingError(message: "parameter '\(parameter.fullName)' has no field name")
            }
            if parameter.path.count >= 2, let rule = rule(for: head, level: level) {
                guard rule.kind != .entryList || level == .request else {
                    throw WireDecodingError(message: "parameter '\(parameter.fullName)': batch entries do not nest")
                }
                let index = try parseIndex(parameter.path[parameter.path.startIndex + 1], in: parameter)
                parameter.path = parameter.path.dropFirst(2)
                builder.add(parameter, index: index, to: rule.target, kind: rule.kind)
            } else if parameter.path.count == 1, parameter.value.isEmpty,
                let target = emptyListTarget(for: head, level: level)
            {
                builder.add(parameter, index: 0, to: target, kind: .emptyList)
            } else {
                let name = parameter.path.count == 1 ? String(head) : parameter.path.joined(separator: ".")
                builder.add(parameter, index: 0, to: name, kind: .plain)
            }
        }
        var object = WireObject()
        object.members.reserveCapacity(builder.slots.count)
        for slot in builder.slots {
            let value: WireValue
            switch slot.kind {
            case .plain: value = .string(slot.items.last?.parameter.value ?? "")
            case .emptyList: value = .list([])
            case .stringList:
                value = .list(
                    try slot.groupedByIndex().map { group throws(WireDecodingError) in try listElement(group) })
            case .stringMap(let keyField): value = .object(try stringMap(slot.groupedByIndex(), keyField: keyField))
            case .attributeValueMap: value = .object(try attributeValueMap(slot.groupedByIndex()))
            case .entryList:
                value = .list(
                    try slot.groupedByIndex().map { group throws(WireDecodingError) in
                        .object(try structure(from: group, level: .batchEntry))
                    })
            }
            object.members.append(WireMember(slot.name, value))
        }
        return object
    }

    /// Parses a 1-based list or map index: a decimal without sign or leading zero, at most `flattenedIndexMax`.
    private func parseIndex(
        _ segment: Substring, in parameter: WireQueryParameter
    ) throws(WireDecodingError) -> Int {
        var index = 0
        for byte in segment.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), index <= WireLimits.flattenedIndexMax else {
                index = -1
                break
            }
            index = index * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard index >= 1, index <= WireLimits.flattenedIndexMax, segment.utf8.first != UInt8(ascii: "0") else {
            throw WireDecodingError(
                message: "parameter '\(parameter.fullName)': index '\(segment.prefix(20))' is not an integer "
                    + "from 1 to \(WireLimits.flattenedIndexMax)")
        }
        return index
    }

    /// One `Name.N` list element: a plain string (the last one, if repeated).
    private func listElement(_ parameters: [WireQueryParameter]) throws(WireDecodingError) -> WireValue {
        for parameter in parameters where !parameter.path.isEmpty {
            throw WireDecodingError(
                message: "unexpected parameter '\(parameter.fullName)': a list element has no fields")
        }
        return .string(parameters.last?.value ?? "")
    }
}
