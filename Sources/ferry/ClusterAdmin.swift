import ArgumentParser
import FerryBench
import Foundation
import NIOPosix
import SigV4

/// Where `ferry cluster status|add-node|remove-node` reach the cluster: a local cluster's directory, or a
/// node's SQS endpoint with the credentials the nodes accept.
struct ClusterTarget: ParsableArguments {
    @Option(help: "Directory given to `ferry cluster up` (a local cluster).")
    var dir: String?

    @Option(help: "SQS endpoint of any node, http://HOST:PORT (instead of --dir).")
    var endpoint: String?

    @Option(help: "Credentials KEY:SECRET the nodes accept (default: the local cluster's).")
    var credentials = "ferry:ferry-secret"

    @Option(help: "Region the requests are signed for.")
    var region = "us-east-1"

    func validate() throws {
        guard (dir == nil) != (endpoint == nil) else { throw ValidationError("give --dir or --endpoint") }
        guard credentials.split(separator: ":").count == 2 else { throw ValidationError("--credentials is KEY:SECRET") }
    }

    /// The endpoints to try, in order: the running local nodes', or the one given.
    var endpoints: [String] {
        if let endpoint { return [endpoint] }
        let cluster = LocalCluster(directory: dir!)
        return cluster.nodeIDs.filter { cluster.pid($0) != nil }.compactMap(cluster.endpoint)
    }

    /// Calls `Ferry.ACTION` on the first endpoint that answers it; throws the last failure.
    func call(_ action: String, _ parameters: [String: Any] = [:], endpoints: [String]? = nil) async throws
        -> [String: Any]
    {
        var failure: any Error = ValidationError("no node of the cluster is running")
        for endpoint in endpoints ?? self.endpoints {
            do {
                return try await AdminCall.call(endpoint, action, parameters, credentials: credentials, region: region)
            } catch let error as AdminCallError where error.isAnswer {
                throw error  // the cluster refused it: another node would too
            } catch {
                failure = error
            }
        }
        throw failure
    }
}

/// A `Ferry.*` request's failure: the cluster's answer (`isAnswer`) or no answer.
struct AdminCallError: Error, CustomStringConvertible {
    var description: String
    var isAnswer: Bool
}

enum AdminCall {
    /// Bounds a call: connecting and reading the answer.
    static let timeout = Duration.seconds(15)

    static func call(
        _ endpoint: String, _ action: String, _ parameters: [String: Any], credentials: String, region: String
    ) async throws -> [String: Any] {
        guard let parsed = Endpoint(parsing: endpoint), !parsed.isTLS else {
            throw AdminCallError(description: "\(endpoint) is not an http://HOST:PORT endpoint", isAnswer: false)
        }
        let parts = credentials.split(separator: ":", maxSplits: 1).map(String.init)
        let body = Array(try JSONSerialization.data(withJSONObject: parameters))
        let response = try await SQSConnection.withConnection(
            to: parsed, tls: nil, group: MultiThreadedEventLoopGroup.singleton
        ) { connection in
            var request = SigV4Request(
                method: "POST", rawPath: "/", rawQuery: "",
                headers: [
                    (name: "host", value: parsed.authority),
                    (name: "content-type", value: "application/x-amz-json-1.0"),
                    (name: "x-amz-target", value: "Ferry.\(action)"),
                ], body: body)
            try SigV4Signer(accessKeyId: parts[0], secret: parts[1], region: region)
                .sign(&request, epochSeconds: Int64(Date().timeIntervalSince1970))
            return try await connection.post(headers: request.headers, body: body, timeout: timeout)
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        guard response.status == 200, let object else {
            let message = object?["message"] as? String ?? String(decoding: response.body.prefix(300), as: UTF8.self)
            let type =
                (object?["__type"] as? String)?.split(separator: "#").last.map(String.init) ?? "HTTP \(response.status)"
            throw AdminCallError(
                description: "\(endpoint): \(type): \(message)",
                isAnswer: response.status == 400 && type != "ServiceUnavailable")
        }
        return object
    }
}

struct ClusterAddNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-node",
        abstract: "Add a node to a running cluster; then start it with `ferry serve --join`.",
        discussion: """
            The node joins as `joining` and gets replicas once it has started and reached the cluster; then \
            about 1/N of the replicas move to it, a few shards at a time. Make its certificate first with \
            `ferry certs --dir CERTS --nodes ID` (it reuses the cluster's CA in CERTS). For a local cluster, \
            `ferry cluster up --dir D --add 1` does all of it.
            """)

    @OptionGroup var target: ClusterTarget

    @Option(help: "The new node's id: never used in this cluster before.")
    var id: UInt64

    @Option(help: "HOST:PORT where the new node accepts peer links.")
    var peer: String

    @Option(help: "HOST:PORT where the new node serves SQS.")
    var sqs: String

    func run() async throws {
        let answer = try await target.call(
            "AddNode", ["Id": id, "PeerAddress": peer, "SqsAddress": sqs])
        print("node \(id) added (joining); configuration version \(ClusterStatusView(answer).version)")
    }
}

struct ClusterRemoveNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove-node",
        abstract: "Remove a node, alive or dead: its replicas move to the other nodes, then it is removed.",
        discussion: """
            The node drains: every shard it holds moves its replica to the node placement picks among the \
            others (its leaderships go with them), a few shards at a time, and it is `removed` once it holds \
            none. Watch `ferry cluster status`; stop the node once it is removed. A dead node is removed the \
            same way (its shards keep a quorum on the others meanwhile). Its id is never used again.
            """)

    @OptionGroup var target: ClusterTarget

    @Option(help: "The node to remove.")
    var id: UInt64

    @Flag(help: "Wait until the node is removed (every replica moved off it).")
    var wait = false

    @Option(help: "With --wait: seconds to wait at most.")
    var timeout = 600

    func run() async throws {
        _ = try await target.call("RemoveNode", ["Id": id])
        print("node \(id) draining")
        guard wait else { return }
        let deadline = Date().addingTimeInterval(Double(timeout))
        while Date() < deadline {
            if let answer = try? await target.call("DescribeCluster"),
                ClusterStatusView(answer).nodes.first(where: { $0.id == id })?.state == "removed"
            {
                print("node \(id) removed")
                return
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw ValidationError("node \(id) is still draining after \(timeout) s")
    }
}

struct ClusterStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Nodes and their states; each shard's replicas, leader, commit index and lag; moves in progress.")

    @OptionGroup var target: ClusterTarget

    @Flag(help: "Print JSON instead of tables.")
    var json = false

    func run() async throws {
        let answer = try await target.call("DescribeCluster")
        let view = ClusterStatusView(answer)
        // Every member node's replicas, each asked of the node itself.
        var replicas: [UInt64: [[String: Any]]] = [:]
        var reachable: Set<UInt64> = []
        let local = target.dir.map(LocalCluster.init)
        for node in view.nodes where node.state != "removed" {
            let endpoint = local?.endpoint(Int(node.id)) ?? (node.sqs.isEmpty ? nil : "http://\(node.sqs)")
            guard let endpoint,
                let answer = try? await target.call("DescribeCluster", ["Local": true], endpoints: [endpoint])
            else { continue }
            reachable.insert(node.id)
            replicas[node.id] = answer["Replicas"] as? [[String: Any]] ?? []
        }
        let report = view.report(replicas: replicas, reachable: reachable)
        if json {
            let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(ClusterStatusView.table(report))
        }
    }
}

/// A `Ferry.DescribeCluster` answer, and the status report built from it and every node's replicas.
struct ClusterStatusView {
    struct Node {
        var id: UInt64
        var state: String
        var peer: String
        var sqs: String
    }
    struct Group {
        var id: Int
        var voters: [UInt64]
        var target: [UInt64]
        var isMoving: Bool
        var isMetadata: Bool
    }
    var version: UInt64
    var shardCount: Int
    var replicationFactor: Int
    var replicasToMove: Int
    var nodes: [Node]
    var groups: [Group]

    init(_ answer: [String: Any]) {
        let cluster = answer["Cluster"] as? [String: Any] ?? [:]
        func number(_ value: Any?) -> UInt64 { (value as? NSNumber)?.uint64Value ?? 0 }
        func numbers(_ value: Any?) -> [UInt64] { (value as? [NSNumber])?.map(\.uint64Value) ?? [] }
        version = number(cluster["Version"])
        shardCount = Int(number(cluster["ShardCount"]))
        replicationFactor = Int(number(cluster["ReplicationFactor"]))
        replicasToMove = Int(number(cluster["ReplicasToMove"]))
        nodes = (cluster["Nodes"] as? [[String: Any]] ?? []).map {
            Node(
                id: number($0["Id"]), state: $0["State"] as? String ?? "?", peer: $0["PeerAddress"] as? String ?? "",
                sqs: $0["SqsAddress"] as? String ?? "")
        }
        groups = (cluster["Groups"] as? [[String: Any]] ?? []).map {
            Group(
                id: Int(number($0["Id"])), voters: numbers($0["Voters"]), target: numbers($0["Target"]),
                isMoving: $0["Moving"] as? Bool ?? false, isMetadata: $0["Metadata"] as? Bool ?? false)
        }
    }

    /// `{"version", "shard_count", "replication_factor", "replicas_to_move", "moves_in_progress",
    /// "nodes": [{"id", "state", "peer", "sqs", "reachable", "replicas", "leads"}], "shards": [{"id",
    /// "metadata", "leader", "term", "replicas", "target", "moving", "commit_index", "applied": {node:
    /// index}, "lag": {node: entries}, "learners"}]}`: the configuration, and what each reachable node
    /// says of its replicas (the leader's view gives the lag of every replica behind its commit index).
    func report(replicas: [UInt64: [[String: Any]]], reachable: Set<UInt64>) -> [String: Any] {
        func number(_ value: Any?) -> UInt64 { (value as? NSNumber)?.uint64Value ?? 0 }
        var byGroup: [Int: [(node: UInt64, status: [String: Any])]] = [:]
        for (node, statuses) in replicas {
            for status in statuses { byGroup[Int(number(status["Group"])), default: []].append((node, status)) }
        }
        var leads: [UInt64: Int] = [:]
        var hosted: [UInt64: Int] = [:]
        let shards = groups.map { group -> [String: Any] in
            let statuses = byGroup[group.id] ?? []
            for entry in statuses { hosted[entry.node, default: 0] += 1 }
            let leader = statuses.filter { $0.status["Role"] as? String == "leader" }
                .max { number($0.status["Term"]) < number($1.status["Term"]) }
            var shard: [String: Any] = [
                "id": group.id, "metadata": group.isMetadata, "replicas": group.voters, "target": group.target,
                "moving": group.isMoving,
                "applied": Dictionary(
                    uniqueKeysWithValues: statuses.map { ("\($0.node)", number($0.status["AppliedIndex"])) }),
            ]
            if let leader {
                leads[leader.node, default: 0] += 1
                let commit = number(leader.status["CommitIndex"])
                shard["leader"] = leader.node
                shard["term"] = number(leader.status["Term"])
                shard["commit_index"] = commit
                var lag: [String: UInt64] = ["\(leader.node)": 0]
                for follower in leader.status["Followers"] as? [[String: Any]] ?? [] {
                    let match = number(follower["Match"])
                    lag["\(number(follower["Node"]))"] = commit > match ? commit - match : 0
                }
                shard["lag"] = lag
                shard["learners"] = (leader.status["Learners"] as? [NSNumber])?.map(\.uint64Value) ?? []
            } else {
                shard["leader"] = 0
            }
            return shard
        }
        return [
            "version": version, "shard_count": shardCount, "replication_factor": replicationFactor,
            "replicas_to_move": replicasToMove, "moves_in_progress": groups.filter(\.isMoving).count,
            "nodes": nodes.map { node -> [String: Any] in
                [
                    "id": node.id, "state": node.state, "peer": node.peer, "sqs": node.sqs,
                    "reachable": reachable.contains(node.id), "replicas": hosted[node.id] ?? 0,
                    "leads": leads[node.id] ?? 0,
                ]
            },
            "shards": shards,
        ]
    }

    /// The report as two tables.
    static func table(_ report: [String: Any]) -> String {
        func text(_ value: Any?) -> String {
            if let list = value as? [Any] { return list.map { "\($0)" }.joined(separator: ",") }
            return value.map { "\($0)" } ?? "-"
        }
        func pad(_ columns: [String], _ widths: [Int]) -> String {
            zip(columns, widths).map { $0.padding(toLength: max($1, $0.count), withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        var lines = [
            "cluster: configuration version \(text(report["version"])), \(text(report["shard_count"])) shards + the metadata group, replication factor \(text(report["replication_factor"])), \(text(report["moves_in_progress"])) moving, \(text(report["replicas_to_move"])) replicas to move",
            "",
        ]
        let nodeWidths = [4, 9, 21, 21, 9, 8, 5]
        lines.append(pad(["NODE", "STATE", "PEER", "SQS", "REACHABLE", "REPLICAS", "LEADS"], nodeWidths))
        for node in report["nodes"] as? [[String: Any]] ?? [] {
            lines.append(
                pad(
                    [
                        text(node["id"]), text(node["state"]), text(node["peer"]), text(node["sqs"]),
                        node["reachable"] as? Bool == true ? "yes" : "no", text(node["replicas"]), text(node["leads"]),
                    ], nodeWidths))
        }
        lines.append("")
        let shardWidths = [5, 6, 5, 8, 9, 9, 6, 20]
        lines.append(
            pad(
                ["SHARD", "LEADER", "TERM", "COMMIT", "REPLICAS", "TARGET", "MOVING", "LAG (node:entries)"], shardWidths
            ))
        for shard in report["shards"] as? [[String: Any]] ?? [] {
            let lag = (shard["lag"] as? [String: UInt64] ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key):\($0.value)" }.joined(separator: " ")
            lines.append(
                pad(
                    [
                        shard["metadata"] as? Bool == true ? "meta" : text(shard["id"]),
                        (shard["leader"] as? UInt64 ?? 0) == 0 ? "none" : text(shard["leader"]), text(shard["term"]),
                        text(shard["commit_index"]), text(shard["replicas"]), text(shard["target"]),
                        shard["moving"] as? Bool == true ? "yes" : "no", lag.isEmpty ? "-" : lag,
                    ], shardWidths))
        }
        return lines.joined(separator: "\n")
    }
}
