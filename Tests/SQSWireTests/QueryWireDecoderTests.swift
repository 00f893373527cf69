import Testing

@testable import SQSWire

@Suite("QueryWireDecoder.decode")
struct QueryWireDecoderTests {
    private func decode(_ text: String) throws(WireDecodingError) -> QueryRequest {
        try QueryWireDecoder.decode(pairs: QueryWireDecoder.parseForm(text))
    }

    private func expectError(_ text: String, mentioning fragment: String) {
        do {
            let request = try decode(text)
            Issue.record("expected an error for \(text), got \(request)")
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }

    @Test func separatesActionVersionAndSignatureParameters() throws {
        let request = try decode(
            "Action=GetQueueUrl&Version=2012-11-05&QueueName=q&AWSAccessKeyId=AK&Signature=s&SignatureMethod=m"
                + "&SignatureVersion=2&Timestamp=t&Expires=e&X-Amz-Algorithm=a&X-Amz-Credential=c&x-amz-date=d"
                + "&X-Amz-SignedHeaders=h&X-Amz-Signature=sig&X-Amz-Security-Token=tok&QueueOwnerAWSAccountId=1")
        #expect(request.action == "GetQueueUrl")
        #expect(request.version == "2012-11-05")
        #expect(request.parameters == ["QueueName": "q", "QueueOwnerAWSAccountId": "1"])
    }

    @Test func foldsStringLists() throws {
        let request = try decode(
            "AttributeName.2=B&AttributeName.1=A&MessageAttributeName.1=All&MessageSystemAttributeName.1=SenderId"
                + "&TagKey.1=k&AWSAccountId.3=333&AWSAccountId.1=111&ActionName.1=SendMessage&Label=l")
        #expect(
            request.parameters == [
                "AttributeNames": ["A", "B"], "MessageAttributeNames": ["All"],
                "MessageSystemAttributeNames": ["SenderId"],
                "TagKeys": ["k"], "AWSAccountIds": ["111", "333"], "Actions": ["SendMessage"], "Label": "l",
            ])
    }

    @Test func foldsAttributeAndTagMaps() throws {
        let request = try decode(
            "Action=TagQueue&Attribute.2.Name=DelaySeconds&Attribute.2.Value=5&Attribute.1.Value=30"
                + "&Attribute.1.Name=VisibilityTimeout&Tag.1.Key=team&Tag.1.Value=a+b&Tag.7.Value=&Tag.7.Key=empty")
        #expect(
            request.parameters == [
                "Attributes": ["VisibilityTimeout": "30", "DelaySeconds": "5"], "Tags": ["team": "a b", "empty": ""],
            ])
    }

    @Test func namesTheCreateQueueTagMapTags() throws {
        let request = try decode("Action=CreateQueue&QueueName=q&Tag.1.Key=k&Tag.1.Value=v")
        #expect(request.parameters == ["QueueName": "q", "tags": ["k": "v"]])
    }

    @Test func foldsMessageAttributesWithListValues() throws {
        let request = try decode(
            "MessageAttribute.1.Name=color&MessageAttribute.1.Value.DataType=String"
                + "&MessageAttribute.1.Value.StringValue=blue&MessageAttribute.2.Name=bin"
                + "&MessageAttribute.2.Value.DataType=Binary&MessageAttribute.2.Value.BinaryValue=AAE%3D"
                + "&MessageAttribute.3.Name=lists&MessageAttribute.3.Value.DataType=String.list"
                + "&MessageAttribute.3.Value.StringListValue.2=y&MessageAttribute.3.Value.StringListValue.1=x"
                + "&MessageAttribute.3.Value.BinaryListValue.1=AA%3D%3D"
                + "&MessageSystemAttribute.1.Name=AWSTraceHeader&MessageSystemAttribute.1.Value.DataType=String"
                + "&MessageSystemAttribute.1.Value.StringValue=Root%3D1")
        #expect(
            request.parameters == [
                "MessageAttributes": [
                    "color": ["DataType": "String", "StringValue": "blue"],
                    "bin": ["DataType": "Binary", "BinaryValue": "AAE="],
                    "lists": [
                        "DataType": "String.list", "StringListValues": ["x", "y"], "BinaryListValues": ["AA=="],
                    ],
                ],
                "MessageSystemAttributes": ["AWSTraceHeader": ["DataType": "String", "StringValue": "Root=1"]],
            ])
    }

    @Test func foldsNestedBatchEntriesOrderedByIndexWithGaps() throws {
        let request = try decode(
            "Action=SendMessageBatch&QueueUrl=http%3A%2F%2Fh%2F1%2Fq"
                + "&SendMessageBatchRequestEntry.10.Id=ten&SendMessageBatchRequestEntry.10.MessageBody=last"
                + "&SendMessageBatchRequestEntry.2.Id=two&SendMessageBatchRequestEntry.2.MessageBody=hi%0D%0A"
                + "&SendMessageBatchRequestEntry.2.DelaySeconds=3"
                + "&SendMessageBatchRequestEntry.2.MessageAttribute.1.Name=color"
                + "&SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.DataType=String"
                + "&SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringValue=red"
                + "&SendMessageBatchRequestEntry.2.MessageSystemAttribute.1.Name=AWSTraceHeader"
                + "&SendMessageBatchRequestEntry.2.MessageSystemAttribute.1.Value.DataType=String"
                + "&SendMessageBatchRequestEntry.2.MessageSystemAttribute.1.Value.StringValue=t"
                + "&SendMessageBatchRequestEntry.5.Id=five&SendMessageBatchRequestEntry.5.MessageBody=mid"
                + "&SendMessageBatchRequestEntry.5.MessageGroupId=g")
        #expect(request.action == "SendMessageBatch")
        #expect(
            request.parameters == [
                "QueueUrl": "http://h/1/q",
                "Entries": [
                    [
                        "Id": "two", "MessageBody": "hi\r\n", "DelaySeconds": "3",
                        "MessageAttributes": ["color": ["DataType": "String", "StringValue": "red"]],
                        "MessageSystemAttributes": ["AWSTraceHeader": ["DataType": "String", "StringValue": "t"]],
                    ],
                    ["Id": "five", "MessageBody": "mid", "MessageGroupId": "g"],
                    ["Id": "ten", "MessageBody": "last"],
                ],
            ])
    }

    @Test func foldsDeleteAndChangeVisibilityBatchEntries() throws {
        let delete = try decode(
            "DeleteMessageBatchRequestEntry.1.Id=a&DeleteMessageBatchRequestEntry.1.ReceiptHandle=r")
        #expect(delete.parameters == ["Entries": [["Id": "a", "ReceiptHandle": "r"]]])
        let change = try decode(
            "ChangeMessageVisibilityBatchRequestEntry.1.Id=a&ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle=r"
                + "&ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout=60")
        #expect(change.parameters == ["Entries": [["Id": "a", "ReceiptHandle": "r", "VisibilityTimeout": "60"]]])
    }

    @Test func readsEmptyListsAsBotocoreSendsThem() throws {
        let request = try decode("AttributeNames=&Entries=&MessageAttributeName=&Other=")
        #expect(
            request.parameters == [
                "AttributeNames": [], "Entries": [], "MessageAttributeNames": [], "Other": "",
            ])
    }

    @Test func keepsUnknownAndDottedNamesAsStrings() throws {
        let request = try decode("Foo.1.Bar=x&Attribute=y&MaxNumberOfMessages=10&WaitTimeSeconds=20&Foo.1.Bar=z")
        #expect(
            request.parameters == [
                "Foo.1.Bar": "z", "Attribute": "y", "MaxNumberOfMessages": "10", "WaitTimeSeconds": "20",
            ])
    }

    @Test func repeatedParametersKeepTheLastValue() throws {
        let request = try decode("QueueName=a&AttributeName.1=x&AttributeName.1=y&QueueName=b&Action=A&Action=B")
        #expect(request.action == "B")
        #expect(request.parameters == ["QueueName": "b", "AttributeNames": ["y"]])
    }

    @Test func rejectsBadIndexes() {
        expectError("AttributeName.x=A", mentioning: "'AttributeName.x'")
        expectError("AttributeName.0=A", mentioning: "index '0'")
        expectError("AttributeName.01=A", mentioning: "index '01'")
        expectError("AttributeName.-1=A", mentioning: "index '-1'")
        expectError("AttributeName.1001=A", mentioning: "index '1001'")
        expectError("AttributeName.99999999999999999999999=A", mentioning: "AttributeName.9999")
        expectError("Attribute..Name=A", mentioning: "'Attribute..Name'")
        expectError("SendMessageBatchRequestEntry.1.MessageAttribute.one.Name=x", mentioning: "index 'one'")
        #expect(throws: Never.self) { try decode("AttributeName.1000=A") }
    }

    @Test func rejectsIncompleteOrUnknownMapEntries() {
        expectError("Attribute.2.Value=5", mentioning: "'Attribute.2.Name' is missing")
        expectError("Attribute.2.Name=DelaySeconds", mentioning: "'Attribute.2.Value' is missing")
        expectError("Tag.1.Value=v", mentioning: "'Tag.1.Key' is missing")
        expectError("Tag.1.Name=k&Tag.1.Value=v", mentioning: "'Tag.1.Name'")
        expectError("MessageAttribute.3.Value.StringValue=x", mentioning: "'MessageAttribute.3.Name' is missing")
        expectError("MessageAttribute.1.Name=a&MessageAttribute.1.Value=x", mentioning: "'MessageAttribute.1.Value'")
        expectError(
            "SendMessageBatchRequestEntry.4.MessageAttribute.2.Value.DataType=String",
            mentioning: "'SendMessageBatchRequestEntry.4.MessageAttribute.2.Name' is missing")
        expectError("AttributeName.1.Extra=x", mentioning: "'AttributeName.1.Extra'")
        expectError("SendMessageBatchRequestEntry.1=x", mentioning: "'SendMessageBatchRequestEntry.1'")
        expectError(
            "SendMessageBatchRequestEntry.1.DeleteMessageBatchRequestEntry.1.Id=x", mentioning: "do not nest")
    }

    @Test func rejectsTooManyParameters() {
        let pairs = (0...WireLimits.parameterCountMax).map { (name: "p\($0)", value: "1") }
        #expect(throws: WireDecodingError(message: "more than \(WireLimits.parameterCountMax) parameters")) {
            try QueryWireDecoder.decode(pairs: pairs)
        }
    }

    @Test func decodesFormBytesDirectly() throws {
        let request = try QueryWireDecoder.decode(form: Array("Action=ListQueues&QueueNamePrefix=a".utf8))
        #expect(request == QueryRequest(action: "ListQueues", parameters: ["QueueNamePrefix": "a"]))
    }
}
