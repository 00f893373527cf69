import Foundation
import Testing

@testable import SQSWire

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Collects the text of every element, by the element's path (`A/B/C`).
private final class WireXMLTextCollector: NSObject, XMLParserDelegate {
    var path: [String] = []
    var texts: [(path: String, text: String)] = []
    var current = ""

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        path.append(elementName)
        current = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        current += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        texts.append((path: path.joined(separator: "/"), text: current))
        current = ""
        path.removeLast()
    }
}

@Suite("XMLWireEncoder output parses with XMLParser")
struct XMLWellFormednessTests {
    private func parse(_ bytes: [UInt8]) -> (ok: Bool, texts: [(path: String, text: String)]) {
        let parser = XMLParser(data: Data(bytes))
        let collector = WireXMLTextCollector()
        parser.delegate = collector
        let ok = parser.parse()
        return (ok, collector.texts)
    }

    @Test func aReceiveMessageResponseIsWellFormedAndItsBodyRoundTrips() throws {
        let body = "line1\r\nline2\rline3 & <tag> 'q' \"d\" é😀\t"
        var result = XMLWireEncoderTests.receiveResult
        var messages = try #require(result["Messages"]?.listValue)
        var first = try #require(messages.first?.objectValue)
        first["Body"] = .string(body)
        messages[0] = .object(first)
        result["Messages"] = .list(messages)
        let (ok, texts) = parse(XMLWireEncoder.encodeResponse(action: "ReceiveMessage", result: result, requestId: "r"))
        #expect(ok)
        let bodies = texts.filter { $0.path == "ReceiveMessageResponse/ReceiveMessageResult/Message/Body" }
        #expect(bodies.map(\.text) == [body, "second"])
        #expect(texts.contains { $0.path.hasSuffix("MessageAttribute/Value/StringListValue") && $0.text == "y" })
        #expect(texts.contains { $0.path == "ReceiveMessageResponse/ResponseMetadata/RequestId" && $0.text == "r" })
    }

    @Test func errorsAndEmptyResultsAreWellFormed() {
        let error = XMLWireEncoder.encodeError(
            type: "Receiver", code: "InternalFailure", message: "a\r<b>&", requestId: "1")
        let (ok, texts) = parse(error)
        #expect(ok)
        #expect(texts.contains { $0.path == "ErrorResponse/Error/Message" && $0.text == "a\r<b>&" })
        #expect(parse(XMLWireEncoder.encodeResponse(action: "PurgeQueue", result: nil, requestId: "1")).ok)
        #expect(parse(XMLWireEncoder.encodeResponse(action: "GetQueueAttributes", result: [:], requestId: "1")).ok)
    }

    @Test func everyKindOfMemberIsWellFormed() {
        let result: WireObject = [
            "Successful": [["Id": "a", "Nested": ["Deep": ["x", "y"]]]], "Failed": [["SenderFault": false]],
            "Tags": ["k&": "v<"], "queueUrls": ["u"], "Number": 42, "Ratio": 0.5, "Attributes": [:],
        ]
        #expect(parse(XMLWireEncoder.encodeResponse(action: "SendMessageBatch", result: result, requestId: "1")).ok)
    }
}
