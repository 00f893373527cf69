import Testing

@testable import SQSWire

@Suite("XMLWireEncoder")
struct XMLWireEncoderTests {
    static let xmlns = #"xmlns="http://queue.amazonaws.com/doc/2012-11-05/""#

    private func response(_ action: String, _ result: WireObject?, id: String = "req-1") -> String {
        XMLWireEncoder.encodeResponseToString(action: action, result: result, requestId: id)
    }

    static let receiveResult: WireObject = [
        "Messages": [
            [
                "MessageId": "m-1", "ReceiptHandle": "rh+/=", "MD5OfBody": "abc", "Body": "a & b <c>\r\nline 'q' \"d\"",
                "Attributes": ["SenderId": "AID", "ApproximateReceiveCount": "1"],
                "MD5OfMessageAttributes": "def",
                "MessageAttributes": [
                    "color": ["StringValue": "blue", "DataType": "String"],
                    "bin": ["BinaryValue": "AAE=", "DataType": "Binary"],
                    "list": ["StringListValues": ["x", "y"], "DataType": "String"],
                ],
            ],
            ["MessageId": "m-2", "Body": "second"],
        ]
    ]

    @Test func encodesAReceiveMessageResult() {
        let expected =
            "<ReceiveMessageResponse \(Self.xmlns)><ReceiveMessageResult>"
            + "<Message><MessageId>m-1</MessageId><ReceiptHandle>rh+/=</ReceiptHandle><MD5OfBody>abc</MD5OfBody>"
            + "<Body>a &amp; b &lt;c&gt;&#xD;\nline &apos;q&apos; &quot;d&quot;</Body>"
            + "<Attribute><Name>SenderId</Name><Value>AID</Value></Attribute>"
            + "<Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>"
            + "<MD5OfMessageAttributes>def</MD5OfMessageAttributes>"
            + "<MessageAttribute><Name>color</Name><Value><StringValue>blue</StringValue>"
            + "<DataType>String</DataType></Value></MessageAttribute>"
            + "<MessageAttribute><Name>bin</Name><Value><BinaryValue>AAE=</BinaryValue>"
            + "<DataType>Binary</DataType></Value></MessageAttribute>"
            + "<MessageAttribute><Name>list</Name><Value><StringListValue>x</StringListValue>"
            + "<StringListValue>y</StringListValue><DataType>String</DataType></Value></MessageAttribute>"
            + "</Message><Message><MessageId>m-2</MessageId><Body>second</Body></Message>"
            + "</ReceiveMessageResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>"
            + "</ReceiveMessageResponse>"
        #expect(response("ReceiveMessage", Self.receiveResult) == expected)
    }

    @Test func encodesASendMessageBatchResult() {
        let result: WireObject = [
            "Successful": [
                ["Id": "a", "MessageId": "m-1", "MD5OfMessageBody": "x", "SequenceNumber": "100"],
                ["Id": "b", "MessageId": "m-2", "MD5OfMessageBody": "y"],
            ],
            "Failed": [["Id": "c", "SenderFault": true, "Code": "InvalidMessageContents", "Message": "bad & ugly"]],
        ]
        let expected =
            "<SendMessageBatchResponse \(Self.xmlns)><SendMessageBatchResult>"
            + "<SendMessageBatchResultEntry><Id>a</Id><MessageId>m-1</MessageId><MD5OfMessageBody>x</MD5OfMessageBody>"
            + "<SequenceNumber>100</SequenceNumber></SendMessageBatchResultEntry>"
            + "<SendMessageBatchResultEntry><Id>b</Id><MessageId>m-2</MessageId><MD5OfMessageBody>y</MD5OfMessageBody>"
            + "</SendMessageBatchResultEntry>"
            + "<BatchResultErrorEntry><Id>c</Id><SenderFault>true</SenderFault><Code>InvalidMessageContents</Code>"
            + "<Message>bad &amp; ugly</Message></BatchResultErrorEntry>"
            + "</SendMessageBatchResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>"
            + "</SendMessageBatchResponse>"
        #expect(response("SendMessageBatch", result) == expected)
    }

    @Test func namesSuccessfulEntriesAfterTheAction() {
        let result: WireObject = ["Successful": [["Id": "a"]], "Failed": []]
        #expect(
            response("DeleteMessageBatch", result).contains(
                "<DeleteMessageBatchResult><DeleteMessageBatchResultEntry><Id>a</Id></DeleteMessageBatchResultEntry>"
                    + "</DeleteMessageBatchResult>"))
        #expect(
            response("ChangeMessageVisibilityBatch", result).contains(
                "<ChangeMessageVisibilityBatchResultEntry><Id>a</Id></ChangeMessageVisibilityBatchResultEntry>"))
    }

    @Test func encodesTheOtherFlattenedShapes() {
        #expect(
            response("ListQueues", ["QueueUrls": ["u1", "u2"], "NextToken": "t"]).contains(
                "<ListQueuesResult><QueueUrl>u1</QueueUrl><QueueUrl>u2</QueueUrl>"
                    + "<NextToken>t</NextToken></ListQueuesResult>"
            ))
        #expect(
            response("ListDeadLetterSourceQueues", ["queueUrls": ["u1"]]).contains(
                "<ListDeadLetterSourceQueuesResult><QueueUrl>u1</QueueUrl></ListDeadLetterSourceQueuesResult>"))
        #expect(
            response("ListQueueTags", ["Tags": ["k": "v&"]]).contains(
                "<ListQueueTagsResult><Tag><Key>k</Key><Value>v&amp;</Value></Tag></ListQueueTagsResult>"))
        #expect(
            response("GetQueueAttributes", ["Attributes": ["VisibilityTimeout": "30"]]).contains(
                "<Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute>"))
        #expect(
            response(
                "ListMessageMoveTasks", ["Results": [["Status": "RUNNING", "ApproximateNumberOfMessagesMoved": 3]]]
            )
            .contains(
                "<ListMessageMoveTasksResultEntry><Status>RUNNING</Status>"
                    + "<ApproximateNumberOfMessagesMoved>3</ApproximateNumberOfMessagesMoved>"
                    + "</ListMessageMoveTasksResultEntry>"
            ))
        #expect(
            response("X", ["Things": ["a"], "Inner": ["Deep": 1.5], "Empty": [:], "Gone": .null, "No": false])
                .contains("<XResult><Things>a</Things><Inner><Deep>1.5</Deep></Inner><Empty/><No>false</No></XResult>"))
    }

    @Test func omitsOrEmptiesTheResultElement() {
        #expect(
            response("DeleteQueue", nil, id: "r<&>")
                == "<DeleteQueueResponse \(Self.xmlns)><ResponseMetadata><RequestId>r&lt;&amp;&gt;</RequestId>"
                + "</ResponseMetadata></DeleteQueueResponse>")
        #expect(
            response("GetQueueAttributes", WireObject())
                == "<GetQueueAttributesResponse \(Self.xmlns)><GetQueueAttributesResult/><ResponseMetadata>"
                + "<RequestId>req-1</RequestId></ResponseMetadata></GetQueueAttributesResponse>")
    }

    @Test func encodesAnError() {
        let bytes = XMLWireEncoder.encodeError(
            type: "Sender", code: "AWS.SimpleQueueService.NonExistentQueue",
            message: "The specified queue does not exist for this wsdl version & <more>.", requestId: "req-9")
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == "<ErrorResponse \(Self.xmlns)><Error><Type>Sender</Type>"
                + "<Code>AWS.SimpleQueueService.NonExistentQueue</Code>"
                + "<Message>The specified queue does not exist for this wsdl version &amp; &lt;more&gt;.</Message>"
                + "<Detail/></Error><RequestId>req-9</RequestId></ErrorResponse>")
    }

    @Test func escapesCarriageReturnAndAmpersandOnly() {
        let text = response("SendMessage", ["MessageId": "\r&\r\n\té😀"])
        #expect(text.contains("<MessageId>&#xD;&amp;&#xD;\n\té😀</MessageId>"))
    }

    @Test func dropsCharactersThatCannotBeInAnElementName() {
        #expect(response("Send<Message> x", nil).hasPrefix("<SendMessagexResponse "))
        #expect(response("", ["1 bad": "v"]).contains("<_Result><bad>v</bad></_Result>"))
    }
}

@Suite("XMLWireEncoder text escaping")
struct XMLTextEscapingTests {
    private func text(_ value: String) -> String {
        let xml = XMLWireEncoder.encodeResponseToString(action: "A", result: ["T": .string(value)], requestId: "")
        let prefix = "<AResponse \(XMLWireEncoderTests.xmlns)><AResult><T>"
        let suffix = "</T></AResult><ResponseMetadata><RequestId></RequestId></ResponseMetadata></AResponse>"
        #expect(xml.hasPrefix(prefix) && xml.hasSuffix(suffix))
        return String(xml.dropFirst(prefix.count).dropLast(suffix.count))
    }

    @Test func replacesCharactersXMLCannotCarry() {
        #expect(
            text("a\u{0}b\u{1F}c\td\ne\u{FFFE}f\u{FFFF}g\u{FFFD}\u{EFFF}")
                == "a\u{FFFD}b\u{FFFD}c\td\ne\u{FFFD}f\u{FFFD}g\u{FFFD}\u{EFFF}")
    }

    @Test func escapesAtEveryPositionOfALongText() {
        let specials: [(String, String)] = [
            ("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\"", "&quot;"), ("'", "&apos;"), ("\r", "&#xD;"),
            ("\n", "\n"), ("\u{1}", "\u{FFFD}"), ("é", "é"), ("\u{FFFF}", "\u{FFFD}"),
        ]
        let filler = Array("abcdefghijklmnopqrstuvwxyz0123456789ABCD")
        for (special, escaped) in specials {
            for position in 0...filler.count {
                var plain = filler
                plain.insert(contentsOf: Array(special), at: position)
                var expected = filler
                expected.insert(contentsOf: Array(escaped), at: position)
                #expect(text(String(plain)) == String(expected), "\(special.debugDescription) at \(position)")
            }
        }
    }
}
