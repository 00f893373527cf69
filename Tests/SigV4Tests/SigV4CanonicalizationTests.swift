import Testing

@testable import SigV4

/// The pieces of the canonical request and the timestamp codec, case by case.
@Suite("SigV4 canonicalization")
struct SigV4CanonicalizationTests {
    @Test(
        "the canonical URI normalizes, then encodes the already-encoded path again (botocore)",
        arguments: [
            ("", "/"), ("/", "/"), ("/000000000000/q1", "/000000000000/q1"), ("/a/./b/../c//d/", "/a/c/d/"),
            ("/..", "/"), ("/../..", "/"), ("//", "/"), ("/./", "/"), ("a/b", "a/b"), ("/a/b/..", "/a"),
            ("/my%2Dqueue", "/my%252Dqueue"), ("/a b", "/a%20b"), ("/~_-.", "/~_-."), ("/%2E%2E/x", "/%252E%252E/x"),
            ("/a+b*c", "/a%2Bb%2Ac"), ("/\u{E9}", "/%C3%A9"),
        ])
    func uri(rawPath: String, expected: String) throws {
        #expect(String(decoding: try SigV4CanonicalRequest.uri(rawPath: rawPath), as: UTF8.self) == expected)
    }

    @Test(
        "the canonical query decodes, re-encodes and sorts by name then value",
        arguments: [
            ("", ""), ("b=2&a=1", "a=1&b=2"), ("a=2&a=10&a=1", "a=1&a=10&a=2"), ("a+b=c+d", "a%20b=c%20d"),
            ("x=%7e%7E~", "x=~~~"), ("x=%2a*", "x=%2A%2A"), ("x=%", "x=%25"), ("x=%4", "x=%254"), ("x=%zz", "x=%25zz"),
            ("x=%41", "x=A"), ("flag", "flag="), ("=v", "=v"), ("a=1&&b=2&", "a=1&b=2"), ("a=b=c", "a=b%3Dc"),
            ("u=%C3%BC", "u=%C3%BC"), ("u=\u{FC}", "u=%C3%BC"), ("B=1&a=1&_=1&~=1", "B=1&_=1&a=1&~=1"),
            ("k=a*v&k=a%20v", "k=a%20v&k=a%2Av"),
        ])
    func query(rawQuery: String, expected: String) throws {
        let parameters = try SigV4QueryString.parse(rawQuery)
        let canonical = SigV4QueryString.canonical(parameters, excluding: nil)
        #expect(String(decoding: canonical, as: UTF8.self) == expected)
    }

    @Test("a presigned request's own signature parameter is left out of the canonical query")
    func excludesSignature() throws {
        let parameters = try SigV4QueryString.parse("X-Amz-Signature=ab&X-Amz-Date=1&X-Amz-Signaturex=c")
        let canonical = SigV4QueryString.canonical(parameters, excluding: Array("X-Amz-Signature".utf8))
        #expect(String(decoding: canonical, as: UTF8.self) == "X-Amz-Date=1&X-Amz-Signaturex=c")
    }

    @Test("canonical headers trim, collapse inner whitespace and join repeats with commas")
    func headers() throws {
        let request = SigV4Request(
            method: "GET", rawPath: "/",
            headers: [
                (name: "Host", value: "example.com"), (name: "X-Multi", value: " a \t\t b  "),
                (name: "x-multi", value: "c"),
                (name: "X-Empty", value: "   "), (name: "X-Quoted", value: "\"a   b\""),
            ])
        let canonical = try SigV4CanonicalRequest.headers(
            of: request, signedHeaderNames: ["host", "x-empty", "x-multi", "x-quoted"])
        #expect(
            String(decoding: canonical, as: UTF8.self)
                == "host:example.com\nx-empty:\nx-multi:a b,c\nx-quoted:\"a b\"\n")
    }

    @Test(
        "ISO 8601 basic timestamps parse to epoch seconds",
        arguments: [
            ("20150830T123600Z", 1_440_938_160), ("19700101T000000Z", 0), ("20240229T235959Z", 1_709_251_199),
            ("20250615T102030Z", 1_749_982_830), ("00000101T000000Z", -62_167_219_200),
            ("99991231T235959Z", 253_402_300_799),
        ] as [(String, Int64)])
    func basicTimestamps(text: String, seconds: Int64) throws {
        let timestamp = try #require(SigV4Timestamp(basic: text))
        #expect(timestamp.epochSeconds == seconds)
        #expect(SigV4Timestamp(epochSeconds: seconds).basic == text)
        #expect(timestamp.date == text.prefix(8))
    }

    @Test(
        "malformed basic timestamps are refused",
        arguments: [
            "", "20150830T123600", "20150830T123600z", "2015-08-30T12:36:00Z", "20150830 123600Z", "20230229T000000Z",
            "20151301T000000Z", "20150800T000000Z", "20150830T240000Z", "20150830T126000Z", "20150830T123660Z",
            "2015083OT123600Z", "+0150830T123600Z", "20150830T123600Z ",
        ])
    func malformedBasicTimestamps(text: String) {
        #expect(SigV4Timestamp(basic: text) == nil)
    }

    @Test("formatting and parsing agree on every day from 1900 to 2200")
    func roundTrip() throws {
        var seconds: Int64 = -2_208_988_800
        while seconds < 7_258_118_400 {
            let text = SigV4Timestamp.formatBasic(epochSeconds: seconds + 45_296)
            #expect(SigV4Timestamp(basic: text)?.epochSeconds == seconds + 45_296, "\(text)")
            seconds += 86_400
        }
        #expect(SigV4Timestamp.formatBasic(epochSeconds: .max) == "99991231T235959Z")
        #expect(SigV4Timestamp.formatBasic(epochSeconds: .min) == "00000101T000000Z")
    }

    @Test(
        "HTTP dates parse in the forms clients send",
        arguments: [
            "Sun, 30 Aug 2015 12:36:00 GMT", "Sun, 30 Aug 2015 12:36:00 -0000", "Sun, 30 Aug 2015 12:36:00 +0000",
            "30 Aug 2015 12:36:00 UTC", "Sun,  30 aug 2015 12:36:00 Z", "Sun, 30 Aug 2015 14:36:00 +0200",
            "Sun, 30 Aug 2015 07:06:00 -0530",
        ])
    func httpDates(text: String) {
        #expect(SigV4Timestamp(httpDate: text)?.basic == "20150830T123600Z")
    }

    @Test(
        "malformed HTTP dates are refused",
        arguments: [
            "", "Sun, 30 Aug 2015 12:36:00", "Sun, 31 Sep 2015 12:36:00 GMT", "Sun, 30 Foo 2015 12:36:00 GMT",
            "Sun, 30 Aug 15 12:36:00 GMT", "Sun, 30 Aug 2015 12:36 GMT", "Sun, 30 Aug 2015 12:36:00 EST",
            "Sun, 30 Aug 2015 12:36:00 +2400", "Sunday, 30-Aug-15 12:36:00 GMT", "Sun Aug 30 12:36:00 2015",
            "Sun, 30 Aug 2015 12:36:00 GMT " + String(repeating: "x", count: 64),
        ])
    func malformedHTTPDates(text: String) {
        #expect(SigV4Timestamp(httpDate: text) == nil)
    }

    @Test("hex comparison is exact on length and ignores case only in what was provided")
    func hexComparison() {
        let expected = Array("0af9".utf8)
        #expect(SigV4Hex.constantTimeEquals(expected, Array("0af9".utf8)))
        #expect(SigV4Hex.constantTimeEquals(expected, Array("0AF9".utf8)))
        #expect(!SigV4Hex.constantTimeEquals(expected, Array("0af".utf8)))
        #expect(!SigV4Hex.constantTimeEquals(expected, Array("0af90".utf8)))
        #expect(!SigV4Hex.constantTimeEquals(expected, Array("0ag9".utf8)))
        #expect(!SigV4Hex.constantTimeEquals(expected, [UInt8]()))
        #expect(String(decoding: SigV4Hex.encode([0x00, 0x7F, 0xFF]), as: UTF8.self) == "007fff")
    }
}
