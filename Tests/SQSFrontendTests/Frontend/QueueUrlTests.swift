import Testing

@testable import SQSFrontend

@Suite("Queue URLs")
struct QueueUrlTests {
    @Test func accountAndNameFromAnyHost() {
        #expect(
            SQSHandler.accountAndName(fromQueueUrl: "http://127.0.0.1:9324/000000000000/q")! == ("000000000000", "q"))
        #expect(
            SQSHandler.accountAndName(fromQueueUrl: "https://sqs.eu-west-1.amazonaws.com/1/q.fifo")! == ("1", "q.fifo"))
        #expect(SQSHandler.accountAndName(fromQueueUrl: "/000000000000/q")! == ("000000000000", "q"))
        #expect(SQSHandler.accountAndName(fromQueueUrl: "http://h/000000000000/q?x=1")! == ("000000000000", "q"))
        #expect(SQSHandler.accountAndName(fromQueueUrl: "http://h") == nil)
        #expect(SQSHandler.accountAndName(fromQueueUrl: "http://h/a/b/c") == nil)
        #expect(SQSHandler.accountAndName(fromQueueUrl: "q") == nil)
    }

    @Test func requestIdsAreUUIDShaped() {
        let first = RequestId.next()
        #expect(first.count == 36)
        #expect(first != RequestId.next())
    }
}
