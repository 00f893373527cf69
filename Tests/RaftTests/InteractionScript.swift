import Raft
import Testing

/// Runs a golden interaction script (in the spirit of etcd's datadriven testdata) against a `TestNetwork`
/// and checks each command's output against the script.
///
/// A script is a list of blocks separated by blank lines. A block is a command line, a `----` line, and the
/// output the command must print (possibly none). Commands:
/// - `start voters=1,2,3 [learners=4] [preVote] [checkQuorum]`
/// - `tick <id> [times]`: ticks one node without delivering anything
/// - `stabilize`: handles every `Ready` and delivers every message until the network is quiet, printing each
///   `Ready` (role, hard state, entries persisted, entries applied, read states) and each message
/// - `propose <id> <text>`, `transfer <id> <target>`, `read <id> <context>`, `change <id> <step>…` with steps
///   `voter:N`, `learner:N`, `remove:N`
/// - `isolate <id>`, `heal`, `crash <id>`, `restart <id>`, `compact <id>`
/// - `status`: one line per node
struct InteractionScript {
    struct Block {
        var command: String
        var expected: [String]
        var line: Int
    }

    let blocks: [Block]

    init(_ text: String) {
        var blocks: [Block] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var position = 0
        while position < lines.count {
            guard !lines[position].isEmpty, !lines[position].hasPrefix("#") else {
                position += 1
                continue
            }
            let command = lines[position]
            precondition(position + 1 < lines.count && lines[position + 1] == "----", "no ---- after \(command)")
            var expected: [String] = []
            var outputLine = position + 2
            while outputLine < lines.count && !lines[outputLine].isEmpty {
                expected.append(lines[outputLine])
                outputLine += 1
            }
            blocks.append(Block(command: command, expected: expected, line: position + 1))
            position = outputLine
        }
        self.blocks = blocks
    }

    /// Runs every block; a mismatch is recorded as an issue that shows the output the script should hold.
    func run(sourceLocation: SourceLocation = #_sourceLocation) {
        var network = TestNetwork(voters: [1])
        var actualScript: [String] = []
        var mismatches = 0
        for block in blocks {
            let output = Self.execute(block.command, on: &network)
            if output != block.expected { mismatches += 1 }
            actualScript.append(([block.command, "----"] + output).joined(separator: "\n"))
        }
        if mismatches > 0 {
            let script = actualScript.joined(separator: "\n\n")
            Issue.record(
                "\(mismatches) command(s) printed something else; the script should read:\n\n\(script)",
                sourceLocation: sourceLocation)
        }
    }

    static func execute(_ command: String, on network: inout TestNetwork) -> [String] {
        let words = command.split(separator: " ").map(String.init)
        let id = words.count > 1 ? NodeID(words[1]) ?? 0 : 0
        var output: [String] = []
        do throws(RaftError) {
            switch words[0] {
            case "start":
                network = start(words)
            case "tick":
                let times = words.count > 2 ? Int(words[2])! : 1
                network.on(id) { for _ in 0..<times { $0.tick() } }
            case "stabilize":
                output = stabilize(&network)
            case "propose":
                try network.propose(words[2...].joined(separator: " "), on: id)
            case "transfer":
                network.on(id) { $0.transferLeadership(to: NodeID(words[2])!) }
            case "read":
                try network.on(id) { node throws(RaftError) in try node.readIndex(Array(words[2].utf8)) }
            case "change":
                let change = MembershipChange(words[2...].map(step))
                try network.on(id) { node throws(RaftError) in try node.proposeMembershipChange(change) }
            case "isolate": network.isolate(id)
            case "heal": network.heal()
            case "crash": network.crash(id)
            case "restart": network.restart(id)
            case "compact": network.compact(id)
            case "status":
                output = network.nodes.keys.sorted().map { status(of: $0, in: network) }
            default:
                output = ["unknown command \(words[0])"]
            }
        } catch {
            output = ["error: \(error)"]
        }
        return output
    }

    static func start(_ words: [String]) -> TestNetwork {
        var voters: Set<NodeID> = []
        var learners: Set<NodeID> = []
        var preVote = false
        var checkQuorum = false
        for word in words.dropFirst() {
            let parts = word.split(separator: "=")
            let ids = parts.count > 1 ? Set(parts[1].split(separator: ",").map { NodeID($0)! }) : []
            switch parts[0] {
            case "voters": voters = ids
            case "learners": learners = ids
            case "preVote": preVote = true
            case "checkQuorum": checkQuorum = true
            default: preconditionFailure("unknown start option \(word)")
            }
        }
        return TestNetwork(voters: voters, learners: learners) {
            $0.preVote = preVote
            $0.checkQuorum = checkQuorum
        }
    }

    static func step(_ word: String) -> MembershipChange.Step {
        let parts = word.split(separator: ":")
        let node = NodeID(parts[1])!
        switch parts[0] {
        case "voter": return .addVoter(node)
        case "learner": return .addLearner(node)
        default: return .remove(node)
        }
    }

    static func stabilize(_ network: inout TestNetwork) -> [String] {
        var output: [String] = []
        while true {
            var busy = false
            for id in network.nodes.keys.sorted() where !network.down.contains(id) && network.nodes[id]!.hasReady {
                output += describe(network.handleReady(of: id), of: id)
                busy = true
            }
            let batch = network.inFlight
            network.inFlight = []
            for message in batch {
                output.append(describe(message) + (network.arriving(message) == nil ? " (dropped)" : ""))
                network.deliver(message)
                busy = true
            }
            if !busy { return output }
        }
    }

    static func status(of id: NodeID, in network: TestNetwork) -> String {
        guard !network.down.contains(id) else { return "\(id): down" }
        let node = network.nodes[id]!
        return "\(id): \(node.role) term=\(node.term) leader=\(node.leader) commit=\(node.commitIndex) "
            + "log=\(describe(network.log(of: id)))"
    }

    static func describe(_ ready: Ready, of id: NodeID) -> [String] {
        var lines: [String] = []
        if let soft = ready.softState { lines.append("\(id): \(soft.role) leader=\(soft.leader)") }
        if let hard = ready.hardState {
            lines.append("\(id): hardState term=\(hard.term) votedFor=\(hard.votedFor) commit=\(hard.commit)")
        }
        if let snapshot = ready.snapshot { lines.append("\(id): snapshot \(snapshot.index)@\(snapshot.term)") }
        if !ready.entries.isEmpty { lines.append("\(id): persist \(describe(ready.entries))") }
        if !ready.committedEntries.isEmpty { lines.append("\(id): apply \(describe(ready.committedEntries))") }
        for read in ready.readStates {
            lines.append("\(id): read \(String(decoding: read.context, as: UTF8.self)) at \(read.index)")
        }
        return lines
    }

    /// Entries as `index@term`, with the payload in quotes and membership changes in brackets.
    static func describe(_ entries: [Entry]) -> String {
        let described = entries.map { entry in
            switch entry.kind {
            case .normal where entry.data.isEmpty:
                return "\(entry.index)@\(entry.term)"
            case .normal:
                return "\(entry.index)@\(entry.term) \"\(String(decoding: entry.data, as: UTF8.self))\""
            case .membershipChange:
                let steps = MembershipChange(decoding: entry.data)?.steps.map { "\($0)" } ?? []
                return "\(entry.index)@\(entry.term) [\(steps.joined(separator: " "))]"
            }
        }
        return "[" + described.joined(separator: ", ") + "]"
    }

    static func describe(_ message: Message) -> String {
        let head = "\(message.from)->\(message.to) \(message.kind) term=\(message.term)"
        switch message.kind {
        case .vote, .preVote:
            return head + " last=\(message.index)@\(message.logTerm)"
        case .voteResponse, .preVoteResponse:
            return head + (message.reject ? " rejected" : " granted")
        case .append:
            return head + " prev=\(message.index)@\(message.logTerm) entries=\(describe(message.entries))"
                + " commit=\(message.commit)"
        case .appendResponse where message.reject:
            return head + " rejected \(message.index) hint=\(message.rejectHint)@\(message.logTerm)"
        case .appendResponse:
            return head + " index=\(message.index)"
        case .heartbeat:
            return head + " commit=\(message.commit)"
                + (message.context.isEmpty ? "" : " context=\(String(decoding: message.context, as: UTF8.self))")
        case .heartbeatResponse, .readIndex:
            return head
                + (message.context.isEmpty ? "" : " context=\(String(decoding: message.context, as: UTF8.self))")
        case .readIndexResponse:
            return head + " index=\(message.index) context=\(String(decoding: message.context, as: UTF8.self))"
        case .snapshot:
            return head + " snapshot=\(message.snapshot.map { "\($0.index)@\($0.term)" } ?? "none")"
        case .timeoutNow:
            return head
        }
    }
}
