import Testing

@testable import SQSWire

@Suite("JSONWireEncoder")
struct JSONWireEncoderTests {
    @Test func encodesMembersInOrderWithoutWhitespace() {
        let value: WireValue = ["b": 1, "a": [true, false, .null], "c": ["d": "e"], "empty": [:], "none": []]
        #expect(
            JSONWireEncoder.encodeToString(value)
                == #"{"b":1,"a":[true,false,null],"c":{"d":"e"},"empty":{},"none":[]}"#)
    }

    @Test func escapesQuotesBackslashesAndControlCharacters() {
        let value: WireValue = "q\" b\\ n\n r\r t\t b\u{8} f\u{C} nul\u{0} us\u{1F} del\u{7F} /"
        #expect(
            JSONWireEncoder.encodeToString(value)
                == #""q\" b\\ n\n r\r t\t b\b f\f nul\u0000 us\u001F del"# + "\u{7F}" + #" /""#)
    }

    @Test func writesNonASCIIAsRawUTF8() {
        #expect(JSONWireEncoder.encode("é€😀") == Array("\"é€😀\"".utf8))
    }

    @Test(arguments: [
        (WireValue.integer(0), "0"), (.integer(7), "7"), (.integer(-7), "-7"), (.integer(1234567890), "1234567890"),
        (.integer(.max), "9223372036854775807"), (.integer(.min), "-9223372036854775808"),
        (.double(0.1), "0.1"), (.double(100), "100.0"), (.double(1e300), "1e+300"), (.double(-2.5e-8), "-2.5e-08"),
        (.double(.infinity), "null"), (.double(.nan), "null"), (.boolean(true), "true"), (.null, "null"),
    ])
    func encodesScalars(value: WireValue, expected: String) {
        #expect(JSONWireEncoder.encodeToString(value) == expected)
    }

    @Test func appendsIntoAnExistingBuffer() {
        var output = Array("prefix:".utf8)
        JSONWireEncoder.encode(["a": 1], into: &output)
        #expect(String(decoding: output, as: UTF8.self) == #"prefix:{"a":1}"#)
    }

    @Test func roundTripsValues() throws {
        let values: [WireValue] = [
            ["QueueUrl": "http://h/1/q", "Entries": [["Id": "1", "MessageBody": "a\r\nb\u{0}\"\\é😀"]]],
            [
                1, -1, .integer(.min), .integer(.max), 0.5, -1e-300, 1.7976931348623157e308,
                .double(.leastNonzeroMagnitude), 1e16, 123.0,
            ],
            ["nested": [[[["deep": [:]]]]], "flag": false, "nothing": .null],
            "", [], [:], "\u{1}\u{1F}\u{7F}\u{80}\u{FFFF}\u{10FFFF}",
        ]
        for value in values {
            #expect(try JSONWireDecoder.decode(JSONWireEncoder.encode(value)) == value)
        }
    }

    @Test func roundTripsTheSampleRequest() throws {
        let decoded = try JSONWireDecoder.decode(wireSampleBatchJSON)
        let reencoded = JSONWireEncoder.encode(decoded)
        #expect(try JSONWireDecoder.decode(reencoded) == decoded)
    }
}

@Suite("JSON string scanning")
struct JSONStringScanningTests {
    /// Both the decoder's and the encoder's eight-bytes-at-a-time scans must find a special byte anywhere.
    @Test func findsSpecialBytesAtEveryPosition() throws {
        let specials = ["\"", "\\", "\n", "\u{1}", "\u{1F}", "é", "😀", "\u{7F}", " ", "/"]
        // No b, f, n, r or t: a raw backslash before one of them would be a valid escape.
        let filler = Array("acdeghijklmopqsuvwxyz0123456789ACDEGHIJK")
        for special in specials {
            for position in 0...filler.count {
                var characters = filler
                characters.insert(contentsOf: Array(special), at: position)
                let value = WireValue.string(String(characters))
                let encoded = JSONWireEncoder.encode(value)
                #expect(try JSONWireDecoder.decode(encoded) == value, "\(special.debugDescription) at \(position)")
                let raw = "\"" + String(filler[..<position]) + special + String(filler[position...]) + "\""
                let mustEscape = special == "\"" || special == "\\" || (special.unicodeScalars.first?.value ?? 0) < 0x20
                if mustEscape {
                    #expect(throws: WireDecodingError.self) { try JSONWireDecoder.decode(raw) }
                } else {
                    #expect(try JSONWireDecoder.decode(raw) == value)
                }
            }
        }
    }

    @Test func rejectsInvalidUTF8AtEveryPositionOfALongString() {
        let filler = Array("abcdefghijklmnopqrstuvwxyz0123456789ABCD".utf8)
        for position in 0...filler.count {
            var bytes = filler
            bytes.insert(0xFF, at: position)
            #expect(throws: WireDecodingError.self) { try JSONWireDecoder.decode([0x22] + bytes + [0x22]) }
        }
    }
}
