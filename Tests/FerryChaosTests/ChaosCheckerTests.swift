import FerryChaos
import Testing

/// The chaos checker on crafted histories: each invariant it guards is reported when broken.
@Suite struct ChaosCheckerTests {
    static let checker = ChaosChecker(redrives: [.init(source: "q", deadLetter: "dlq", maxReceiveCount: 2)])

    static func send(
        _ id: UInt64, _ body: String, queue: String = "q", group: String? = nil, start: Int64 = 0, end: Int64 = 1,
        outcome: ChaosOperation.Outcome = .ok, messageId: String? = nil, md5: String? = nil
    ) -> ChaosOperation {
        ChaosOperation(
            id: id, node: 1, action: .send, queue: queue, startMs: start, endMs: end, outcome: outcome, body: body,
            groupId: group, messageId: outcome == .ok ? (messageId ?? "id-\(body)") : nil,
            md5OfBody: outcome == .ok ? (md5 ?? ChaosChecker.md5(body)) : nil)
    }

    static func receive(
        _ id: UInt64, _ bodies: [String], queue: String = "q", at time: Int64 = 10, messageIds: [String]? = nil,
        md5s: [String]? = nil, outcome: ChaosOperation.Outcome = .ok
    ) -> ChaosOperation {
        let messages = bodies.indices.map { index in
            ChaosOperation.Received(
                messageId: messageIds?[index] ?? "id-\(bodies[index])", body: bodies[index],
                md5OfBody: md5s?[index] ?? ChaosChecker.md5(bodies[index]))
        }
        return ChaosOperation(
            id: id, node: 2, action: .receive, queue: queue, startMs: time, endMs: time + 1, outcome: outcome,
            messages: outcome == .ok ? messages : nil)
    }

    @Test func aCleanHistoryIsValidAndCountsDuplicates() {
        let verdict = Self.checker.check([
            Self.send(1, "a"), Self.send(2, "b"), Self.send(3, "c", outcome: .unknown),
            Self.receive(4, ["a", "b"]), Self.receive(5, ["a", "c"], at: 20),
        ])
        #expect(verdict.isValid)
        #expect(verdict.acknowledged == 2 && verdict.duplicated == 1 && verdict.unknown == 1)
        #expect(
            verdict.line(faults: "kill 2")
                == "chaos: VALID — acknowledged 2, lost 0, unexpected 0, duplicated 1, mismatched 0, fifo-violations 0; faults: kill 2"
        )
    }

    @Test func anAcknowledgedSendNeverReceivedIsLost() {
        let verdict = Self.checker.check([
            Self.send(1, "a"), Self.send(2, "b"), Self.send(3, "never acknowledged", outcome: .failed),
            Self.receive(4, ["a"]),
        ])
        #expect(!verdict.isValid)
        #expect(verdict.lost == ["b"])
        #expect(verdict.line(faults: "").hasPrefix("chaos: INVALID — acknowledged 2, lost 1,"))
    }

    @Test func aMessageNeverSentIsUnexpected() {
        let verdict = Self.checker.check([Self.send(1, "a"), Self.receive(2, ["a", "ghost"])])
        #expect(verdict.unexpected.count == 1 && verdict.unexpected[0].contains("ghost"))
        #expect(!verdict.isValid)
    }

    @Test func answersOfOtherRequestsAreMismatched() {
        // A send answered with another body's MD5; a message id given to two bodies; a receive whose id
        // is not the one its send was given; a receive with another body's MD5.
        let verdict = Self.checker.check([
            Self.send(1, "a", md5: ChaosChecker.md5("b")), Self.send(2, "b", messageId: "shared"),
            Self.send(3, "c", messageId: "shared"), Self.send(4, "d"),
            Self.receive(5, ["a", "b", "c", "d"], messageIds: ["id-a", "shared", "shared", "id-x"]),
            Self.receive(6, ["d"], at: 20, messageIds: ["id-d"], md5s: [ChaosChecker.md5("e")]),
        ])
        #expect(verdict.mismatched.count == 4, "\(verdict.mismatched)")
        #expect(verdict.lost.isEmpty && !verdict.isValid)
    }

    /// Found by `ferry chaos` (seed 1, pause only): a send timed out on a paused node and was retried on a
    /// new connection; both attempts took effect, so the body came back under two ids. SQS does the same
    /// (at-least-once), so it is a duplicate, not a mismatched answer; without the retry it is one.
    @Test func aSendRetriedAfterAnAttemptThatMayHaveTakenEffectMayComeBackUnderTwoIds() {
        var retried = Self.send(1, "a", messageId: "second-attempt")
        retried.retried = true
        let received = [
            Self.receive(2, ["a"], messageIds: ["second-attempt"]),
            Self.receive(3, ["a"], at: 20, messageIds: ["first-attempt"]),
        ]
        let verdict = Self.checker.check([retried] + received)
        #expect(verdict.isValid, "\(verdict.mismatched)")
        #expect(verdict.duplicated == 1)
        let notRetried = Self.checker.check([Self.send(1, "a", messageId: "second-attempt")] + received)
        #expect(notRetried.mismatched.count == 1 && !notRetried.isValid)
    }

    @Test func aFifoMessageBeforeAnEarlierAcknowledgedOneOfItsGroupIsAViolation() {
        let history = [
            Self.send(1, "g1-a", queue: "f.fifo", group: "g1", start: 0, end: 5),
            Self.send(2, "g1-b", queue: "f.fifo", group: "g1", start: 6, end: 8),
            // Concurrent with g1-b: may come before it.
            Self.send(3, "g1-c", queue: "f.fifo", group: "g1", start: 7, end: 9),
            Self.send(4, "g2-a", queue: "f.fifo", group: "g2", start: 0, end: 2),
        ]
        let inOrder = Self.checker.check(
            history + [Self.receive(5, ["g2-a", "g1-a", "g1-c", "g1-b"], queue: "f.fifo", at: 20)])
        #expect(inOrder.isValid, "\(inOrder.fifoViolations)")
        let outOfOrder = Self.checker.check(
            history + [
                Self.receive(5, ["g1-b"], queue: "f.fifo", at: 20),
                Self.receive(6, ["g1-a", "g1-c", "g2-a"], queue: "f.fifo", at: 30),
            ])
        #expect(outOfOrder.fifoViolations.count == 1 && outOfOrder.fifoViolations[0].contains("g1-b"))
        #expect(!outOfOrder.isValid)
    }

    @Test func aDeadLetterBeforeMaxReceiveCountReceivesIsReported() {
        let early = Self.checker.check([
            Self.send(1, "a"), Self.receive(2, ["a"]), Self.receive(3, ["a"], queue: "dlq", at: 20),
        ])
        #expect(early.earlyDeadLetters.count == 1 && !early.isValid)
        let onTime = Self.checker.check([
            Self.send(1, "a"), Self.receive(2, ["a"]), Self.receive(3, ["a"], at: 15),
            Self.receive(4, ["a"], queue: "dlq", at: 20),
        ])
        #expect(onTime.isValid)
        // A receive of unknown outcome may have been one of them.
        let unknown = Self.checker.check([
            Self.send(1, "a"), Self.receive(2, ["a"]), Self.receive(3, [], at: 15, outcome: .unknown),
            Self.receive(4, ["a"], queue: "dlq", at: 20),
        ])
        #expect(unknown.isValid && unknown.unknown == 1)
        // …but not one that began before the message was sent.
        let tooEarly = Self.checker.check([
            Self.receive(1, [], at: -5, outcome: .unknown), Self.send(2, "a"), Self.receive(3, ["a"]),
            Self.receive(4, ["a"], queue: "dlq", at: 20),
        ])
        #expect(tooEarly.earlyDeadLetters.count == 1)
        // A receive from the source that began before the dead-letter receive counts even when its answer
        // came later (a slow node).
        var slow = Self.receive(3, ["a"], at: 15)
        slow.endMs = 40
        let slowAnswer = Self.checker.check([
            Self.send(1, "a"), Self.receive(2, ["a"]), slow, Self.receive(4, ["a"], queue: "dlq", at: 20),
        ])
        #expect(slowAnswer.isValid, "\(slowAnswer.earlyDeadLetters)")
    }

    @Test func aPoisonMessageThatNeverReachesTheDeadLetterQueueIsLost() {
        let checker = ChaosChecker(redrives: [
            .init(source: "q", deadLetter: "dlq", maxReceiveCount: 2, poisonSuffix: "-poison")
        ])
        let history = [
            Self.send(1, "a-poison"), Self.send(2, "b-poison"), Self.receive(3, ["a-poison", "b-poison"]),
            Self.receive(4, ["a-poison", "b-poison"], at: 15), Self.receive(5, ["a-poison"], queue: "dlq", at: 20),
        ]
        let verdict = checker.check(history)
        #expect(verdict.lost == ["b-poison (never reached dlq)"] && !verdict.isValid)
        #expect(checker.check(history + [Self.receive(6, ["b-poison"], queue: "dlq", at: 30)]).isValid)
    }

    @Test func aNodeDownAfterTheRunMakesItInvalidAndIsNamed() {
        var verdict = Self.checker.check([Self.send(1, "a"), Self.receive(2, ["a"])])
        #expect(verdict.isValid)
        verdict.nodesDown = ["node 2 exited on its own (status 1)"]
        #expect(!verdict.isValid)
        #expect(verdict.line(faults: "").contains("fifo-violations 0, nodes-down 1; faults: none"))
    }
}
