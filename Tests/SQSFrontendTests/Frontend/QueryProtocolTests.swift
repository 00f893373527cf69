import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import SQSFrontend

@Suite("AWS Query protocol, in process")
struct QueryProtocolTests {
    static let namespace = #"xmlns="http://queue.amazonaws.com/doc/2012-11-05/""#

    @Test func queueLifecycleAndMessagesOverForms() async throws {
        try await FrontendHarness.withServer { client in
            let created = try await FrontendHarness.query(
                client,
                "Action=CreateQueue&Version=2012-11-05&QueueName=forms&Attribute.1.Name=DelaySeconds&Attribute.1.Value=0"
            )
            #expect(created.status == .ok)
            #expect(created.headers[.contentType] == "text/xml")
            let createdText = FrontendHarness.text(created)
            #expect(createdText.hasPrefix("<CreateQueueResponse \(Self.namespace)><CreateQueueResult><QueueUrl>"))
            #expect(createdText.contains("<ResponseMetadata><RequestId>"))
            // POST to the queue URL path: QueueUrl implied.
            let sent = try await FrontendHarness.query(
                client, "Action=SendMessage&MessageBody=a%0D%0Ab+%26+%3Cc%3E", path: "/000000000000/forms")
            #expect(sent.status == .ok)
            #expect(FrontendHarness.text(sent).contains("<MD5OfMessageBody>"))
            // GET with a query string.
            let received = try await client.execute(
                uri: "/000000000000/forms?Action=ReceiveMessage&AttributeName.1=All&MaxNumberOfMessages=5", method: .get
            )
            let text = FrontendHarness.text(received)
            #expect(text.contains("<ReceiveMessageResult><Message>"))
            #expect(text.contains("<Body>a&#xD;\nb &amp; &lt;c&gt;</Body>"))
            #expect(text.contains("<Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>"))
            let attributes = try await FrontendHarness.query(
                client,
                "Action=GetQueueAttributes&QueueUrl=http%3A%2F%2Fx%2F000000000000%2Fforms&AttributeName.1=VisibilityTimeout"
            )
            #expect(
                FrontendHarness.text(attributes).contains(
                    "<Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute>"))
            let deleted = try await FrontendHarness.query(client, "Action=DeleteQueue", path: "/000000000000/forms")
            let deletedText = FrontendHarness.text(deleted)
            #expect(deletedText.hasPrefix("<DeleteQueueResponse \(Self.namespace)><ResponseMetadata>"))
        }
    }

    @Test func batchWithPartialFailure() async throws {
        try await FrontendHarness.withServer { client in
            _ = try await FrontendHarness.query(client, "Action=CreateQueue&QueueName=b")
            let response = try await FrontendHarness.query(
                client,
                "Action=SendMessageBatch&SendMessageBatchRequestEntry.1.Id=ok&SendMessageBatchRequestEntry.1.MessageBody=x"
                    + "&SendMessageBatchRequestEntry.2.Id=bad&SendMessageBatchRequestEntry.2.MessageBody=%01",
                path: "/000000000000/b")
            let text = FrontendHarness.text(response)
            #expect(response.status == .ok)
            #expect(text.contains("<SendMessageBatchResultEntry><Id>ok</Id>"))
            #expect(
                text.contains(
                    "<BatchResultErrorEntry><Id>bad</Id><SenderFault>true</SenderFault><Code>InvalidMessageContents</Code>"
                ))
        }
    }

    @Test func errorShapes() async throws {
        try await FrontendHarness.withServer { client in
            let missing = try await FrontendHarness.query(client, "Action=GetQueueUrl&QueueName=nope")
            #expect(missing.status == .badRequest)
            let text = FrontendHarness.text(missing)
            #expect(
                text.contains(
                    "<ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><Error><Type>Sender</Type>"
                        + "<Code>AWS.SimpleQueueService.NonExistentQueue</Code>"))
            #expect(text.contains("<Message>The specified queue does not exist for this wsdl version.</Message>"))
            #expect(text.contains("<RequestId>"))
            let noAction = try await FrontendHarness.query(client, "QueueName=x")
            #expect(FrontendHarness.text(noAction).contains("<Code>MissingAction</Code>"))
            let badAction = try await FrontendHarness.query(client, "Action=Frobnicate")
            #expect(FrontendHarness.text(badAction).contains("<Code>InvalidAction</Code>"))
            let badEscape = try await FrontendHarness.query(client, "Action=ListQueues&QueueNamePrefix=%zz")
            #expect(badEscape.status == .badRequest)
            _ = try await FrontendHarness.query(client, "Action=CreateQueue&QueueName=p")
            _ = try await FrontendHarness.query(client, "Action=PurgeQueue", path: "/000000000000/p")
            let again = try await FrontendHarness.query(client, "Action=PurgeQueue", path: "/000000000000/p")
            #expect(again.status == .forbidden)
            #expect(FrontendHarness.text(again).contains("<Code>AWS.SimpleQueueService.PurgeQueueInProgress</Code>"))
            let handle = try await FrontendHarness.query(
                client, "Action=DeleteMessage&ReceiptHandle=forged", path: "/000000000000/p")
            #expect(handle.status == .notFound)
            #expect(FrontendHarness.text(handle).contains("<Code>ReceiptHandleIsInvalid</Code>"))
        }
    }
}
