import Testing

@testable import SQSWire

@Suite("WireValue and WireObject")
struct WireValueTests {
    @Test func literalsBuildTheExpectedCases() {
        let value: WireValue = ["a": "x", "b": 1, "c": true, "d": [1, "two"], "e": 1.5, "f": .null]
        let expected = WireValue.object(
            WireObject([
                WireMember("a", .string("x")), WireMember("b", .integer(1)), WireMember("c", .boolean(true)),
                WireMember("d", .list([.integer(1), .string("two")])), WireMember("e", .double(1.5)),
                WireMember("f", .null),
            ]))
        #expect(value == expected)
        #expect(value.objectValue?.names == ["a", "b", "c", "d", "e", "f"])
    }

    @Test func accessorsReturnNilForOtherCases() {
        let value: WireValue = "text"
        #expect(value.stringValue == "text")
        #expect(value.integerValue == nil)
        #expect(value.objectValue == nil)
        #expect(value.listValue == nil)
        #expect(WireValue.integer(3).doubleValue == 3)
        #expect(WireValue.boolean(false).booleanValue == false)
        #expect(WireValue.null.isNull)
        #expect(WireValue.list([]).listValue == [])
    }

    @Test func subscriptGetsTheLastMatch() {
        let object = WireObject([WireMember("a", "1"), WireMember("b", "2"), WireMember("a", "3")])
        #expect(object["a"] == "3")
        #expect(object["b"] == "2")
        #expect(object["missing"] == nil)
    }

    @Test func subscriptSetReplacesInPlaceAndAppends() {
        var object = WireObject([WireMember("a", "1"), WireMember("b", "2"), WireMember("a", "3")])
        object["a"] = "new"
        #expect(object.members == [WireMember("a", "new"), WireMember("b", "2")])
        object["c"] = 7
        #expect(object.names == ["a", "b", "c"])
        object["b"] = nil
        #expect(object.names == ["a", "c"])
        object["absent"] = nil
        #expect(object.count == 2)
        #expect(!object.isEmpty)
        #expect(WireObject().isEmpty)
    }

    @Test func dictionaryLiteralKeepsOrderAndLastValue() {
        let object: WireObject = ["z": 1, "a": 2, "z": 3]
        #expect(object.members == [WireMember("z", 3), WireMember("a", 2)])
    }
}
