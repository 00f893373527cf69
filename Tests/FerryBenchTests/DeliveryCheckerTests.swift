import Testing

@testable import FerryBench

@Suite("Delivery check")
struct DeliveryCheckerTests {
    @Test func allDelivered() {
        var checker = DeliveryChecker()
        for sequence in 0..<1_000 { checker.sent(sequence) }
        for sequence in (0..<1_000).reversed() { checker.receivedMessage(sequence) }
        #expect(
            checker.summary
                == DeliverySummary(
                    sent: 1_000, received: 1_000, uniqueReceived: 1_000, duplicates: 0, lost: 0, unexpected: 0))
    }

    @Test func lostDuplicatedAndUnexpected() {
        var checker = DeliveryChecker()
        for sequence in 0..<100 where sequence != 70 { checker.sent(sequence) }
        for sequence in 0..<100 where sequence != 5 && sequence != 64 { checker.receivedMessage(sequence) }
        checker.receivedMessage(9)
        checker.receivedMessage(9)
        let summary = checker.summary
        #expect(summary.sent == 99)
        #expect(summary.lost == 2)
        #expect(summary.duplicates == 2)
        #expect(summary.unexpected == 1)
        #expect(checker.lostSequences(limit: 10) == [5, 64])
    }

    @Test func payloadCarriesItsSequence() {
        let payload = Payload(runId: "abc", sizeBytes: 64)
        let body = payload.body(1234)
        #expect(body.utf8.count == 64)
        #expect(Payload.sequence(in: body, runId: "abc") == 1234)
        #expect(Payload.sequence(in: body, runId: "other") == nil)
        #expect(Payload.sequence(in: body, runId: nil) == 1234)
        #expect(Payload.sequence(in: "hello", runId: nil) == nil)
    }

    @Test func endpointParsing() {
        let local = Endpoint(parsing: "http://127.0.0.1:9324")
        #expect(local?.isTLS == false && local?.host == "127.0.0.1" && local?.port == 9324)
        #expect(Endpoint(parsing: "https://sqs.us-east-1.amazonaws.com")?.port == 443)
        #expect(Endpoint(parsing: "https://sqs.us-east-1.amazonaws.com")?.authority == "sqs.us-east-1.amazonaws.com")
        #expect(Endpoint(parsing: "ftp://x") == nil)
        #expect(Endpoint(parsing: "http://h:99999") == nil)
    }

    @Test func configurationIsValidated() {
        var configuration = BenchConfiguration()
        #expect(configuration.validationError() == nil)
        configuration.batchSize = 11
        #expect(configuration.validationError() != nil)
        configuration.batchSize = 10
        configuration.messageSizeBytes = 200_000
        #expect(configuration.validationError() != nil)
    }
}
