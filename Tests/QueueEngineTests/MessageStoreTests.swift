import Testing

@testable import QueueEngine

/// The compact message store: positions stay right through removals, and a message reads back every
/// field it was given, whether or not its id and digest have the canonical form.
@Suite("Message store")
struct MessageStoreTests {
    func message(
        _ sequence: UInt64, id: String = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        md5: String = "acbd18db4cc2f85cedef654fccc4a4d8"
    ) -> StoredMessage {
        StoredMessage(
            sequence: sequence, messageId: id, body: "body \(sequence)", md5OfBody: md5, messageAttributes: [:],
            md5OfMessageAttributes: nil, systemAttributes: [:], md5OfSystemAttributes: nil, senderId: "S",
            sentTimestamp: 1_000, messageGroupId: nil, messageDeduplicationId: nil, fifoSequenceNumber: nil,
            sizeBytes: 10, state: .available, visibleAtMilliseconds: 1_000)
    }

    @Test func removalsKeepEveryPositionRight() {
        var store = MessageStore()
        var expected: Set<UInt64> = []
        var generator = SeededGenerator(seed: 7)
        print("MessageStoreTests seed 7")
        for step in 0..<5_000 {
            let sequence = generator.next() % 600
            if generator.next() % 3 == 0 {
                #expect((store.removeValue(forKey: sequence) != nil) == expected.contains(sequence), "step \(step)")
                expected.remove(sequence)
            } else {
                store[sequence] = message(sequence)
                expected.insert(sequence)
            }
        }
        #expect(store.count == expected.count)
        #expect(Set(store.keys) == expected)
        for sequence in expected { #expect(store[sequence]?.body == "body \(sequence)") }
        #expect(store.update(expected.first!) { $0.receiveCount = 9 })
        #expect(store[expected.first!]?.receiveCount == 9)
        #expect(!store.update(10_000) { $0.receiveCount = 1 })
        store[expected.first!] = nil
        #expect(store.count == expected.count - 1)
    }

    @Test func fieldsReadBackWhateverTheirForm() {
        let canonical = message(1)
        #expect(canonical.messageId == "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
        #expect(canonical.md5OfBody == "acbd18db4cc2f85cedef654fccc4a4d8")
        for (id, md5) in [
            ("0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D", "ACBD18DB4CC2F85CEDEF654FCCC4A4D8"),
            ("not-a-uuid", "short"), ("0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d0000", "acbd18db4cc2f85cedef654fccc4a4d8zz"),
            ("", ""),
        ] {
            let stored = message(2, id: id, md5: md5)
            #expect(stored.messageId == id)
            #expect(stored.md5OfBody == md5)
        }
        var redriven = canonical
        #expect(redriven.deadLetterQueueSourceArn == nil && redriven.firstReceiveTimestamp == nil)
        redriven.deadLetterQueueSourceArn = "arn:aws:sqs:us-east-1:000000000000:src"
        redriven.firstReceiveTimestamp = 5
        #expect(redriven.deadLetterQueueSourceArn == "arn:aws:sqs:us-east-1:000000000000:src")
        #expect(redriven.firstReceiveTimestamp == 5)
        #expect(canonical.deadLetterQueueSourceArn == nil, "a copy does not share a change")
        #expect(redriven.messageId == canonical.messageId)
    }
}
