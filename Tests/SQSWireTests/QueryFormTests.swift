import Testing

@testable import SQSWire

@Suite("QueryWireDecoder.parseForm")
struct QueryFormTests {
    private func pairs(_ text: String) throws -> [String] {
        try QueryWireDecoder.parseForm(text).map { "\($0.name)=\($0.value)" }
    }

    @Test func splitsAndDecodes() throws {
        #expect(
            try pairs("Action=SendMessage&MessageBody=a+b%2Bc%26d%3De%25&Empty=&Bare") == [
                "Action=SendMessage", "MessageBody=a b+c&d=e%", "Empty=", "Bare=",
            ])
    }

    @Test func skipsEmptyPairsAndKeepsOrder() throws {
        #expect(try pairs("&&b=2&&a=1&") == ["b=2", "a=1"])
        #expect(try pairs("") == [])
        #expect(try pairs("a==b") == ["a==b"])
    }

    @Test func decodesUTF8Escapes() throws {
        #expect(try pairs("Body=%C3%A9%E2%82%AC%F0%9F%98%80%0D%0A") == ["Body=é€😀\r\n"])
        #expect(try pairs("Body=%c3%a9") == ["Body=é"])
        #expect(try QueryWireDecoder.parseForm(Array("Body=é".utf8)).first?.value == "é")
    }

    @Test(arguments: ["a=%", "a=%4", "a=%G1", "a=%1G", "%zz=1", "a=b%", "a=%FF", "a=%C3", "a=%C0%80", "a=%ED%A0%80"])
    func rejectsBadEscapes(text: String) {
        #expect(throws: WireDecodingError.self) { try QueryWireDecoder.parseForm(text) }
    }

    @Test func rejectsRawInvalidUTF8() {
        #expect(throws: WireDecodingError.self) { try QueryWireDecoder.parseForm([0x61, 0x3D, 0xFF]) }
    }

    @Test func rejectsTooManyParameters() throws {
        let limit = WireLimits.parameterCountMax
        let atLimit = (0..<limit).map { "p\($0)=1" }.joined(separator: "&")
        #expect(try QueryWireDecoder.parseForm(atLimit).count == limit)
        #expect(throws: WireDecodingError.self) { try QueryWireDecoder.parseForm(atLimit + "&one=more") }
    }
}
