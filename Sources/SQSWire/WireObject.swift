/// One named member of a `WireObject`.
public struct WireMember: Sendable, Equatable {
    /// The member name, exactly as on the wire (SQS model names are PascalCase, except `tags` and `queueUrls`).
    public var name: String
    /// The member value.
    public var value: WireValue

    /// Creates a member.
    public init(_ name: String, _ value: WireValue) {
        self.name = name
        self.value = value
    }
}

/// An object whose members keep their order (responses are encoded in insertion order).
///
/// Lookup is a linear scan: objects on the SQS wire have a handful of members. Decoders never produce
/// two members with the same name; `init(_:)` accepts them, and then the last one wins on lookup.
public struct WireObject: Sendable, Equatable {
    /// The members, in order.
    public var members: [WireMember]

    /// Creates an object with the given members, in order.
    public init(_ members: [WireMember] = []) {
        self.members = members
    }

    /// True when the object has no members.
    public var isEmpty: Bool { members.isEmpty }

    /// The number of members.
    public var count: Int { members.count }

    /// The member names, in order.
    public var names: [String] { members.map(\.name) }

    /// The value of the member named `name` (the last one, if repeated).
    ///
    /// Setting a value replaces the first member of that name in place (dropping any later repeats) or
    /// appends a new member; setting nil removes every member of that name.
    public subscript(name: String) -> WireValue? {
        get {
            members.last(where: { $0.name == name })?.value
        }
        set {
            guard let first = members.firstIndex(where: { $0.name == name }) else {
                if let newValue { members.append(WireMember(name, newValue)) }
                return
            }
            if let newValue {
                members[first].value = newValue
                var index = members.index(after: first)
                while index < members.endIndex {
                    if members[index].name == name {
                        members.remove(at: index)
                    } else {
                        index += 1
                    }
                }
            } else {
                members.removeAll(where: { $0.name == name })
            }
        }
    }

    /// Builds an object from pairs in order; a repeated name keeps its first position and its last value.
    init(orderedPairs pairs: some Sequence<(String, WireValue)>) {
        self.members = []
        for (name, value) in pairs {
            self[name] = value
        }
    }
}

extension WireObject: ExpressibleByDictionaryLiteral {
    /// Creates an object with the members in the order written; a repeated name keeps its last value.
    public init(dictionaryLiteral elements: (String, WireValue)...) {
        self.init(orderedPairs: elements)
    }
}
