import Testing

@testable import SQSWire

/// A SendMessageBatch request body as botocore sends it, with non-ASCII, escapes and attributes.
let wireSampleBatchJSON = """
    {"QueueUrl":"http://localhost:9324/000000000000/orders","Entries":[\
    {"Id":"m1","MessageBody":"hello \\"world\\"\\n\\u00e9\\ud83d\\ude00 é","DelaySeconds":5,\
    "MessageAttributes":{"color":{"DataType":"String","StringValue":"blue"},\
    "blob":{"DataType":"Binary","BinaryValue":"AAEC"}}},\
    {"Id":"m2","MessageBody":"plain","MessageGroupId":null,"Flag":false,"Ratio":0.25,"Big":-9223372036854775808}]}
    """

@Suite("JSONWireDecoder")
struct JSONWireDecoderTests {
    @Test func decodesABatchRequest() throws {
        let value = try JSONWireDecoder.decode(wireSampleBatchJSON)
        let expected: WireValue = [
            "QueueUrl": "http://localhost:9324/000000000000/orders",
            "Entries": [
                [
                    "Id": "m1", "MessageBody": "hello \"world\"\n\u{E9}😀 é", "DelaySeconds": 5,
                    "MessageAttributes": [
                        "color": ["DataType": "String", "StringValue": "blue"],
                        "blob": ["DataType": "Binary", "BinaryValue": "AAEC"],
                    ],
                ],
                [
                    "Id": "m2", "MessageBody": "plain", "MessageGroupId": .null, "Flag": false, "Ratio": 0.25,
                    "Big": .integer(.min),
                ],
            ],
        ]
        #expect(value == expected)
    }

    @Test func decodesScalarsAtTheTopLevelWithWhitespace() throws {
        #expect(try JSONWireDecoder.decode(" \t\r\n42 \n") == .integer(42))
        #expect(try JSONWireDecoder.decode("\"x\"") == "x")
        #expect(try JSONWireDecoder.decode("true") == true)
        #expect(try JSONWireDecoder.decode("null") == .null)
        #expect(try JSONWireDecoder.decode("[]") == [])
        #expect(try JSONWireDecoder.decode("{ }") == .object(WireObject()))
    }

    @Test(arguments: [
        ("0", WireValue.integer(0)), ("-0", .integer(0)), ("9223372036854775807", .integer(.max)),
        ("-9223372036854775808", .integer(.min)), ("9223372036854775808", .double(9_223_372_036_854_775_808)),
        ("-9223372036854775809", .double(-9.223372036854775808e18)), ("1.5", .double(1.5)),
        ("1e3", .double(1000)), ("-2.5E-3", .double(-0.0025)), ("1E+2", .double(100)), ("0.0", .double(0)),
        ("123456789012345678901234567890", .double(1.2345678901234568e29)),
    ])
    func decodesNumbers(text: String, expected: WireValue) throws {
        #expect(try JSONWireDecoder.decode(text) == expected)
    }

    @Test func decodesEveryEscape() throws {
        let text = #""\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC\uD83D\uDE00\u0000""#
        #expect(try JSONWireDecoder.decode(text) == .string("\"\\/\u{8}\u{C}\n\r\tAé€😀\u{0}"))
    }

    @Test func keepsRawUTF8() throws {
        #expect(try JSONWireDecoder.decode("\"日本語 ü 😀\"") == "日本語 ü 😀")
    }

    @Test func repeatedNamesKeepTheLastValue() throws {
        #expect(try JSONWireDecoder.decode(#"{"a":1,"b":2,"a":3}"#) == ["a": 3, "b": 2])
        // Past the linear-scan threshold the decoder indexes names in a dictionary.
        let many = (0..<20).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        let value = try JSONWireDecoder.decode("{\(many),\"k3\":\"last\",\"k19\":null}")
        let object = try #require(value.objectValue)
        #expect(object.count == 20)
        #expect(object["k3"] == "last")
        #expect(object["k19"] == .null)
        #expect(object.names.first == "k0")
    }

    @Test func acceptsNestingUpToTheLimitAndRejectsDeeper() throws {
        let depth = WireLimits.nestingDepthMax
        let deepest = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(throws: Never.self) { try JSONWireDecoder.decode(deepest) }
        let tooDeep = String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1)
        #expect(throws: WireDecodingError.self) { try JSONWireDecoder.decode(tooDeep) }
        let objects = String(repeating: "{\"a\":", count: depth + 1) + "1" + String(repeating: "}", count: depth + 1)
        #expect(throws: WireDecodingError.self) { try JSONWireDecoder.decode(objects) }
        // Far too deep must not exhaust the stack either.
        #expect(throws: WireDecodingError.self) { try JSONWireDecoder.decode(String(repeating: "[", count: 100_000)) }
    }

    @Test(arguments: [
        "", " ", "{", "}", "[", "]", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":}", "{a:1}", "{'a':1}",
        "{\"a\":1 \"b\":2}", "[1 2]", "\"abc", "\"\\\"", "tru", "truex", "nul", "False", "NaN", "Infinity",
        "-", "+1", "01", "-01", "1.", ".5", "1e", "1e+", "1.e3", "0x10", "1e400", "-1e400", "1 2", "{} {}",
        "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\uD800\"", "\"\\uDC00\"", "\"\\uD800\\u0041\"", "\"\\uD800x\"",
        "\"\\uD83D\\uD83D\"", "\"tab\there\"", "\"nl\nhere\"", "[\"a\"]]", "nulll", "\u{FEFF}{}",
    ])
    func rejectsMalformedJSON(text: String) {
        #expect(throws: WireDecodingError.self) { try JSONWireDecoder.decode(text) }
    }

    @Test(
        arguments: [
            [0x22, 0xFF, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0x80, 0x22], [0x22, 0x5C, 0x6E, 0xFE, 0x22],
            [0x22, 0xC3, 0x5C, 0x75, 0x30, 0x30, 0x41, 0x39, 0x22], [0xC3, 0xA9],
        ] as [[UInt8]])
    func rejectsInvalidUTF8(bytes: [UInt8]) {
        #expect(throws: WireDecodingError.self) { try JSONWireDecoder.decode(bytes) }
    }

    @Test func rejectsEveryTruncationOfASampleRequest() {
        let bytes = Array(wireSampleBatchJSON.utf8)
        for length in 0..<bytes.count {
            #expect(throws: WireDecodingError.self, "prefix of \(length) bytes") {
                try JSONWireDecoder.decode(bytes[0..<length])
            }
        }
    }

    @Test func errorsNameTheByteOffset() {
        #expect(throws: WireDecodingError(message: "invalid JSON at byte 6: unexpected '}', expected a value")) {
            try JSONWireDecoder.decode(#"{"a": }"#)
        }
        #expect(throws: WireDecodingError(message: "invalid JSON at byte 2: lone low surrogate \\uDC00")) {
            try JSONWireDecoder.decode(#"["\uDC00"]"#)
        }
    }

    @Test func decodesFromAnyByteCollection() throws {
        let bytes = Array("xx[1,\"é\"]yy".utf8)
        let slice = bytes[2..<(bytes.count - 2)]
        #expect(try JSONWireDecoder.decode(slice) == [1, "é"])
        #expect(try JSONWireDecoder.decode(AnySequenceCollection(slice)) == [1, "é"])
    }
}

/// A collection without contiguous storage, to exercise the copying path.
private struct AnySequenceCollection: Collection {
    let base: ArraySlice<UInt8>
    init(_ base: ArraySlice<UInt8>) { self.base = base }
    var startIndex: Int { base.startIndex }
    var endIndex: Int { base.endIndex }
    subscript(position: Int) -> UInt8 { base[position] }
    func index(after position: Int) -> Int { position + 1 }
}
