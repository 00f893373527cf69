import Foundation
import HTTPTypes
import HummingbirdTesting
import SQSWire
import Testing

@testable import SQSFrontend

@Suite("AWS JSON 1.0 protocol, in process")
struct JSONProtocolTests {
    @Test func sendReceiveDeleteRoundTrip() async throws {
        try await FrontendHarness.withServer { client in
            let created = try await FrontendHarness.json(client, "CreateQueue", #"{"QueueName":"jobs"}"#)
            #expect(created.status == .ok)
            #expect(created.headers[.contentType] == "application/x-amz-json-1.0")
            #expect(created.headers[FrontendHarness.requestId]?.isEmpty == false)
            let url = try #require(FrontendHarness.object(created)["QueueUrl"]?.stringValue)
            #expect(url.hasSuffix("/000000000000/jobs"))
            let sent = try await FrontendHarness.json(
                client, "SendMessage",
                #"{"QueueUrl":"\#(url)","MessageBody":"hello","MessageAttributes":{"k":{"DataType":"Binary","BinaryValue":"AAEC"}}}"#
            )
            #expect(sent.status == .ok)
            let sentObject = try FrontendHarness.object(sent)
            #expect(sentObject["MD5OfMessageBody"]?.stringValue == "5d41402abc4b2a76b9719d911017c592")
            #expect(sentObject["MD5OfMessageAttributes"] != nil)
            #expect(sentObject["SequenceNumber"] == nil)
            let received = try await FrontendHarness.json(
                client, "ReceiveMessage",
                #"{"QueueUrl":"\#(url)","MaxNumberOfMessages":10,"MessageAttributeNames":["All"],"MessageSystemAttributeNames":["All"]}"#
            )
            let messages = try #require(FrontendHarness.object(received)["Messages"]?.listValue)
            #expect(messages.count == 1)
            let message = try #require(messages.first?.objectValue)
            #expect(message["Body"]?.stringValue == "hello")
            #expect(message["MessageAttributes"]?.objectValue?["k"]?.objectValue?["BinaryValue"]?.stringValue == "AAEC")
            #expect(message["Attributes"]?.objectValue?["ApproximateReceiveCount"]?.stringValue == "1")
            let handle = try #require(message["ReceiptHandle"]?.stringValue)
            let deleted = try await FrontendHarness.json(
                client, "DeleteMessage", #"{"QueueUrl":"\#(url)","ReceiptHandle":"\#(handle)"}"#)
            #expect(deleted.status == .ok)
            #expect(FrontendHarness.text(deleted) == "{}")
            let empty = try await FrontendHarness.json(client, "ReceiveMessage", #"{"QueueUrl":"\#(url)"}"#)
            #expect(FrontendHarness.text(empty) == "{}")
        }
    }

    @Test func queueUrlOfAnyHostRoutesByPath() async throws {
        try await FrontendHarness.withServer { client in
            _ = try await FrontendHarness.json(client, "CreateQueue", #"{"QueueName":"elsewhere"}"#)
            let response = try await FrontendHarness.json(
                client, "SendMessage",
                #"{"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/000000000000/elsewhere","MessageBody":"x"}"#)
            #expect(response.status == .ok)
            let wrongAccount = try await FrontendHarness.json(
                client, "SendMessage", #"{"QueueUrl":"http://h/123456789012/elsewhere","MessageBody":"x"}"#)
            #expect(wrongAccount.status == .badRequest)
        }
    }

    @Test func errorShape() async throws {
        try await FrontendHarness.withServer { client in
            let response = try await FrontendHarness.json(
                client, "GetQueueUrl", #"{"QueueName":"missing"}"#)
            #expect(response.status == .badRequest)
            #expect(response.headers[FrontendHarness.queryError] == "AWS.SimpleQueueService.NonExistentQueue;Sender")
            #expect(response.headers[FrontendHarness.requestId]?.isEmpty == false)
            let body = try FrontendHarness.object(response)
            #expect(body["__type"]?.stringValue == "com.amazonaws.sqs#QueueDoesNotExist")
            #expect(body["message"]?.stringValue == "The specified queue does not exist.")
        }
    }

    @Test(arguments: [
        ("SendMessage", "{not json", "InvalidParameterValue"),
        ("SendMessage", "[1,2]", "InvalidParameterValue"),
        ("SendMessage", #"{"QueueUrl":5}"#, "InvalidParameterValue"),
        ("CreateQueue", "{}", "MissingParameter"),
        ("TagQueue", #"{"QueueUrl":"/000000000000/x","Tags":{"k":5}}"#, "InvalidParameterValue"),
        ("CreateQueue", #"{"QueueName":"x","Attributes":{"DelaySeconds":5}}"#, "InvalidParameterValue"),
        ("NoSuchAction", "{}", "InvalidAction"),
        ("ReceiveMessage", #"{"QueueUrl":"/000000000000/x","MaxNumberOfMessages":"ten"}"#, "InvalidParameterValue"),
    ])
    func badRequestsGetSenderErrors(action: String, body: String, code: String) async throws {
        try await FrontendHarness.withServer { client in
            let response = try await FrontendHarness.json(client, action, body)
            #expect(response.status == .badRequest)
            #expect(response.headers[FrontendHarness.queryError] == "\(code);Sender")
        }
    }

    @Test func oversizedBodyIsRefused() async throws {
        try await FrontendHarness.withServer { client in
            let huge = String(repeating: "a", count: SQSResponder.Limits.requestBodyBytesMax + 1)
            let response = try await FrontendHarness.json(client, "SendMessage", huge)
            #expect(response.status == .badRequest)
        }
    }

    @Test func unsignedRequestIsRefusedWhenCredentialsAreConfigured() async throws {
        try await FrontendHarness.withServer(credentials: ["AKID": "secret"]) { client in
            let response = try await FrontendHarness.json(client, "ListQueues", "{}")
            #expect(response.status == .forbidden)
            #expect(response.headers[FrontendHarness.queryError] == "MissingAuthenticationToken;Sender")
            let query = try await FrontendHarness.query(client, "Action=ListQueues&Version=2012-11-05")
            #expect(query.status == .forbidden)
            #expect(FrontendHarness.text(query).contains("<Code>MissingAuthenticationToken</Code>"))
        }
    }
}
