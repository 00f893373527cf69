import Crypto

/// Checks a chaos run's history as Jepsen's total-queue checker does, with SQS's rules: at-least-once
/// delivery (duplicates are counted, not failures), answers that belong to their own request, FIFO order
/// within a group, and dead-letter moves only after `maxReceiveCount` receives.
public struct ChaosChecker: Sendable {
    /// A queue that redrives to a dead-letter queue after `maxReceiveCount` receives.
    public struct Redrive: Sendable, Equatable {
        public var source: String
        public var deadLetter: String
        public var maxReceiveCount: Int
        /// Bodies ending with this are never deleted from the source: each acknowledged one must reach the
        /// dead-letter queue (one that never does was lost on the way).
        public var poisonSuffix: String?

        public init(source: String, deadLetter: String, maxReceiveCount: Int, poisonSuffix: String? = nil) {
            self.source = source
            self.deadLetter = deadLetter
            self.maxReceiveCount = maxReceiveCount
            self.poisonSuffix = poisonSuffix
        }
    }

    public var redrives: [Redrive]

    public init(redrives: [Redrive] = []) {
        self.redrives = redrives
    }

    /// What the history shows. Valid when nothing was lost, unexpected, mismatched or out of FIFO order,
    /// and no message reached a dead-letter queue too early.
    public struct Verdict: Sendable, Equatable {
        public var acknowledged = 0
        public var lost: [String] = []
        public var unexpected: [String] = []
        /// Deliveries beyond a message's first (SQS is at-least-once: reported, not a failure).
        public var duplicated = 0
        public var mismatched: [String] = []
        public var fifoViolations: [String] = []
        public var earlyDeadLetters: [String] = []
        /// Requests whose outcome stayed unknown.
        public var unknown = 0
        /// Nodes that exited on their own or did not serve again once the faults were healed (set by the
        /// run, not by the checker).
        public var nodesDown: [String] = []

        public var isValid: Bool {
            lost.isEmpty && unexpected.isEmpty && mismatched.isEmpty && fifoViolations.isEmpty
                && earlyDeadLetters.isEmpty && nodesDown.isEmpty
        }

        /// The last line of a run: `chaos: VALID|INVALID — acknowledged N, lost L, …; faults: …` (early
        /// dead letters and nodes down are named only when there are some).
        public func line(faults: String) -> String {
            var extra = earlyDeadLetters.isEmpty ? "" : ", early-dead-letters \(earlyDeadLetters.count)"
            if !nodesDown.isEmpty { extra += ", nodes-down \(nodesDown.count)" }
            return "chaos: \(isValid ? "VALID" : "INVALID") — acknowledged \(acknowledged), lost \(lost.count), "
                + "unexpected \(unexpected.count), duplicated \(duplicated), mismatched \(mismatched.count), "
                + "fifo-violations \(fifoViolations.count)\(extra); faults: \(faults.isEmpty ? "none" : faults)"
        }
    }

    public static func md5(_ body: String) -> String {
        Insecure.MD5.hash(data: Array(body.utf8)).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
        }.joined()
    }

    public func check(_ history: [ChaosOperation]) -> Verdict {
        var verdict = Verdict()
        let operations = history.sorted { ($0.endMs, $0.id) < ($1.endMs, $1.id) }
        // Every body a send attempted (whatever its outcome), and the id each acknowledged send was given.
        var attempted: [String: ChaosOperation] = [:]
        var idOfBody: [String: String] = [:]
        var bodyOfId: [String: String] = [:]
        for operation in history where operation.action == .send {
            guard let body = operation.body else { continue }
            attempted[body] = operation
            guard operation.outcome == .ok else { continue }
            verdict.acknowledged += 1
            if operation.md5OfBody != Self.md5(body) {
                verdict.mismatched.append("op \(operation.id): the send of \(body) was answered with another MD5")
            }
            if let id = operation.messageId {
                if let other = bodyOfId[id], other != body, attempted[other]?.groupId == nil {
                    verdict.mismatched.append("op \(operation.id): message id \(id) was given to \(other) and \(body)")
                }
                bodyOfId[id] = body
                idOfBody[body] = id
            }
        }
        // Acknowledged FIFO sends by group, in acknowledgment order.
        var acknowledgedInGroup: [String: [ChaosOperation]] = [:]
        for operation in operations where operation.action == .send && operation.outcome == .ok {
            if let group = operation.groupId { acknowledgedInGroup[group, default: []].append(operation) }
        }
        var deliveries: [String: Int] = [:]
        // For the dead-letter checks: when each receive from a queue that returned a body began, when each
        // receive of unknown outcome began (it may have returned anything), and each body's first receive
        // from a dead-letter queue.
        var receiveStarts: [String: [String: [Int64]]] = [:]  // body → queue → starts
        var unknownReceiveStarts: [String: [Int64]] = [:]  // queue → starts
        var firstDeadLetterReceive: [String: ChaosOperation] = [:]
        let deadLetterQueues = Set(redrives.map(\.deadLetter))
        for operation in operations {
            if operation.outcome == .unknown {
                verdict.unknown += 1
                if operation.action == .receive {
                    unknownReceiveStarts[operation.queue, default: []].append(operation.startMs)
                }
            }
            guard operation.action == .receive, operation.outcome == .ok else { continue }
            for message in operation.messages ?? [] {
                guard let sent = attempted[message.body] else {
                    verdict.unexpected.append(
                        "op \(operation.id): \(message.body) from \(operation.queue) was never sent")
                    continue
                }
                if message.md5OfBody != Self.md5(message.body) {
                    verdict.mismatched.append("op \(operation.id): \(message.body) came with another body's MD5")
                }
                // A send retried after an attempt that may have taken effect can be stored twice: the
                // other copy has its own id.
                if let id = idOfBody[message.body], id != message.messageId, sent.retried != true {
                    verdict.mismatched.append(
                        "op \(operation.id): \(message.body) came with id \(message.messageId), sent as \(id)")
                }
                if let group = sent.groupId, deliveries[message.body] == nil {
                    for earlier in acknowledgedInGroup[group, default: []] {
                        guard earlier.body != message.body else { break }
                        // Only a send acknowledged before this one began must come first.
                        guard earlier.endMs < sent.startMs, let earlierBody = earlier.body else { continue }
                        if deliveries[earlierBody] == nil {
                            verdict.fifoViolations.append(
                                "op \(operation.id): \(message.body) of group \(group) before \(earlierBody)")
                            break
                        }
                    }
                }
                deliveries[message.body, default: 0] += 1
                receiveStarts[message.body, default: [:]][operation.queue, default: []].append(operation.startMs)
                if deadLetterQueues.contains(operation.queue), firstDeadLetterReceive[message.body] == nil {
                    firstDeadLetterReceive[message.body] = operation
                }
            }
        }
        for redrive in redrives {
            for (body, arrival) in firstDeadLetterReceive where arrival.queue == redrive.deadLetter {
                guard let sent = attempted[body], sent.queue == redrive.source else { continue }
                // It left the source only after maxReceiveCount receives there that began before it was
                // received from the dead-letter queue; receives of unknown outcome in that time may have
                // been some of them.
                let known = receiveStarts[body]?[redrive.source]?.filter { $0 < arrival.endMs }.count ?? 0
                let possible =
                    unknownReceiveStarts[redrive.source]?.filter { $0 >= sent.startMs && $0 < arrival.endMs }.count ?? 0
                if known + possible < redrive.maxReceiveCount {
                    verdict.earlyDeadLetters.append(
                        "op \(arrival.id): \(body) reached \(redrive.deadLetter) after \(known) receives "
                            + "(\(possible) more possible)")
                }
            }
        }
        verdict.duplicated = deliveries.values.reduce(0) { $0 + max(0, $1 - 1) }
        for operation in history where operation.action == .send && operation.outcome == .ok {
            guard let body = operation.body else { continue }
            if deliveries[body] == nil {
                verdict.lost.append(body)
                continue
            }
            for redrive in redrives where redrive.source == operation.queue {
                guard let suffix = redrive.poisonSuffix, body.hasSuffix(suffix),
                    firstDeadLetterReceive[body]?.queue != redrive.deadLetter
                else { continue }
                verdict.lost.append("\(body) (never reached \(redrive.deadLetter))")
            }
        }
        verdict.lost.sort()
        return verdict
    }
}
