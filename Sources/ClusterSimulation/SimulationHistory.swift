import Crypto
import QueueEngine

/// The clients' history in Jepsen's terms: each operation invoked, then ok, fail, or unknown (info).
struct SimulationHistory {
    enum Outcome: Equatable { case pending, ok, unknown }

    struct Operation {
        var id: UInt64
        var command: String
        var queue: String
        var body: String?
        var node: UInt64
        var invokedAt: Int64
        var outcome = Outcome.pending
        var answeredAt: Int64?
    }

    var operations: [UInt64: Operation] = [:]
    /// Bodies sent to each queue (any outcome): what a receive may return.
    var sentBodies: [String: Set<String>] = [:]
    /// Bodies whose send returned ok, with the time.
    var acknowledged: [String: (queue: String, at: Int64)] = [:]
    /// Body → its message id, from the send's answer or the first receive that returned it.
    var messageIds: [String: String] = [:]
    /// Received body → ok receives that returned it.
    var receivedCount: [String: Int] = [:]
    /// Receives whose outcome is unknown, by queue.
    var unknownReceives: [String: Int] = [:]
    /// Receipt handles handed out, for deletes and visibility changes.
    var receipts: [(queue: String, handle: String)] = []
    /// FIFO: per group, bodies in the order their sends were acknowledged.
    var fifoAcknowledged: [String: [String]] = [:]
    var fifoDelivered: Set<String> = []
    /// FIFO: the group of each body sent.
    var fifoGroups: [String: String] = [:]
    /// Registers of queue "q" that clients change and read: two attributes and a tag.
    static let registers = ["MaximumMessageSize", "Policy", "tag:t"]
    struct RegisterChange {
        var invokedAt: Int64
        var okAt: Int64?
        var value: String
    }
    /// Changes of each register, in the order they were invoked.
    var registerChanges: [String: [RegisterChange]] = [:]

    /// Whether an operation's body is a message's (not a register change's or a read's label).
    static func isMessageBody(_ body: String) -> Bool { !body.hasPrefix("register:") && !body.hasPrefix("read:") }

    static func md5(_ body: String) -> String {
        Insecure.MD5.hash(data: Array(body.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
