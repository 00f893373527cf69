import ArgumentParser
import FerryBench
import Foundation

/// `ferry cluster up|down`: a local cluster of separate processes on loopback.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Start or stop a local cluster on loopback (one process per node); add, remove and inspect nodes.",
        subcommands: [
            ClusterUp.self, ClusterDown.self, ClusterStatus.self, ClusterAddNode.self, ClusterRemoveNode.self,
        ])
}

/// The files of a local cluster directory.
struct LocalCluster {
    let directory: String

    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
    var certificates: String { path("certs") }
    func config(_ id: Int) -> String { path("node-\(id).json") }
    func log(_ id: Int) -> String { path("node-\(id).log") }
    func pidFile(_ id: Int) -> String { path("node-\(id).pid") }
    func data(_ id: Int) -> String { path("node-\(id)") }

    func pid(_ id: Int) -> pid_t? {
        guard let data = FileManager.default.contents(atPath: pidFile(id)),
            let pid = pid_t(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else { return nil }
        return kill(pid, 0) == 0 ? pid : nil
    }

    /// Writes node `id`'s config: `peers` maps every node id to the address this node dials it at (its
    /// own: where it listens).
    func writeConfig(
        id: Int, peers: [String: String], host: String = "127.0.0.1", sqsPort: Int, shards: Int, replicationFactor: Int,
        sqsNodes: [String: String] = [:]
    ) throws {
        let config: [String: Any] = [
            "cluster_name": "local", "node_id": id, "nodes": peers, "sqs_nodes": sqsNodes, "data_dir": data(id),
            "host": host, "port": sqsPort, "shards": shards, "replication_factor": replicationFactor,
            "tls_ca": certificates + "/ca.pem", "tls_cert": certificates + "/node-\(id).pem",
            "tls_key": certificates + "/node-\(id)-key.pem", "cluster_key": certificates + "/cluster.key",
        ]
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        guard FileManager.default.createFile(atPath: self.config(id), contents: data) else {
            throw ValidationError("cannot write \(self.config(id))")
        }
    }

    /// Starts `ferry serve --config node-ID.json` with `arguments` in the background (output to its
    /// log, pid to its pid file); `environment` entries are added to this process's, and `prefix` is a
    /// command that execs it (`ip netns exec NS`).
    @discardableResult
    func start(_ id: Int, arguments: [String], environment: [String: String] = [:], prefix: [String] = []) throws
        -> pid_t
    {
        let binary = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let pid = try Spawn.detached(
            prefix + [binary, "serve", "--config", config(id)] + arguments, output: log(id), environment: environment)
        _ = FileManager.default.createFile(atPath: pidFile(id), contents: Data("\(pid)\n".utf8))
        return pid
    }

    /// Returns once node `id` answers a signed ListQueues at `endpoint`; throws if its process ends (`alive`
    /// says; by default its pid file's process exists) or `deadline` passes first.
    func waitServing(
        _ id: Int, endpoint: String, credentials: [String], deadline: Date, alive: (() -> Bool)? = nil
    ) async throws {
        while !(await SQSProbe.serves(
            endpoint: endpoint, accessKeyId: credentials[0], secret: credentials[1], region: "us-east-1"))
        {
            guard Date() < deadline, alive?() ?? (pid(id) != nil) else {
                throw ValidationError("node \(id) does not serve at \(endpoint); see \(log(id))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Node `id`'s config file, parsed.
    func configValues(_ id: Int) -> [String: Any]? {
        FileManager.default.contents(atPath: config(id)).flatMap {
            (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any]
        }
    }

    /// Node `id`'s SQS endpoint, from its config file.
    func endpoint(_ id: Int) -> String? {
        guard let values = configValues(id), let port = values["port"] as? Int else { return nil }
        return "http://\(values["host"] as? String ?? "127.0.0.1"):\(port)"
    }

    /// Node ids with a config file here.
    var nodeIDs: [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name in
            guard name.hasPrefix("node-"), name.hasSuffix(".json") else { return nil }
            return Int(name.dropFirst(5).dropLast(5))
        }.sorted()
    }
}

struct ClusterUp: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start N nodes on loopback; print their endpoints; return once every node serves.",
        discussion: """
            Writes certificates (ferry certs), one config per node (node-N.json) and data under --dir, then \
            starts `ferry serve --config node-N.json` per node in the background (logs in node-N.log, pid in \
            node-N.pid). SQS ports count up from --sqs-port, peer ports from --peer-port. Running it again \
            starts only the nodes that are not running (--only N: just node N).
            """)

    @Option(help: "Number of nodes (1–7).")
    var nodes = 3

    @Option(help: "Directory for certificates, configs, logs and data.")
    var dir: String

    @Option(help: "SQS port of node 1; node N listens on this + N - 1.")
    var sqsPort = 9324

    @Option(help: "Peer-link port of node 1; node N listens on this + N - 1.")
    var peerPort = 9700

    @Option(help: "Shards of the cluster (fixed at creation).")
    var shards = 8

    @Option(help: "Replicas of each shard (fixed at creation); nodes beyond it host only some shards.")
    var replicationFactor = 3

    @Option(help: "Credentials KEY:SECRET the nodes accept (also used to check that they serve).")
    var credentials = "ferry:ferry-secret"

    @Option(help: "Passed to every node: always, batch or never.")
    var fsync = "always"

    @Option(help: "Start only this node (it must belong to the cluster in --dir).")
    var only: Int?

    @Option(
        help:
            "Add this many new nodes to the running local cluster in --dir (ids after the highest so far; ports as for the others): certificates, `ferry cluster add-node`, then `ferry serve --join`."
    )
    var add: Int?

    @Option(help: "Seconds to wait for every node to serve.")
    var timeout = 60

    @Option(parsing: .remaining, help: "Further `ferry serve` options for every node (after --).")
    var serveOptions: [String] = []

    func validate() throws {
        guard (1...7).contains(nodes) else { throw ValidationError("--nodes must be 1–7") }
        guard (1...7).contains(replicationFactor) else { throw ValidationError("--replication-factor must be 1–7") }
        guard credentials.split(separator: ":").count == 2 else { throw ValidationError("--credentials is KEY:SECRET") }
    }

    func run() async throws {
        if let add { return try await addNodes(add) }
        let cluster = LocalCluster(directory: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = try CertificateFiles.write(
            directory: cluster.certificates, nodeIDs: (1...nodes).map(UInt64.init), hosts: ["127.0.0.1", "localhost"],
            clusterName: "local", force: false)
        var addresses: [String: String] = [:]
        var sqsAddresses: [String: String] = [:]
        for id in 1...nodes {
            addresses["\(id)"] = "127.0.0.1:\(peerPort + id - 1)"
            sqsAddresses["\(id)"] = "127.0.0.1:\(sqsPort + id - 1)"
        }
        for id in 1...nodes {
            try cluster.writeConfig(
                id: id, peers: addresses, sqsPort: sqsPort + id - 1, shards: shards,
                replicationFactor: replicationFactor, sqsNodes: sqsAddresses)
        }
        let parts = credentials.split(separator: ":").map(String.init)
        for id in 1...nodes where (only == nil || only == id) && cluster.pid(id) == nil {
            try cluster.start(id, arguments: ["--credentials", credentials, "--fsync", fsync] + serveOptions)
        }
        let deadline = Date().addingTimeInterval(Double(timeout))
        for id in 1...nodes where only == nil || only == id {
            let endpoint = "http://127.0.0.1:\(sqsPort + id - 1)"
            try await cluster.waitServing(id, endpoint: endpoint, credentials: parts, deadline: deadline)
            print("node \(id): \(endpoint) (pid \(cluster.pid(id).map(String.init) ?? "?"), log \(cluster.log(id)))")
        }
    }
}

extension ClusterUp {
    /// `--add N`: new nodes for the running cluster in --dir, each added to its configuration, then
    /// started with `--join`; returns once they serve.
    func addNodes(_ count: Int) async throws {
        let cluster = LocalCluster(directory: dir)
        let existing = cluster.nodeIDs
        guard let first = existing.first, let values = cluster.configValues(first),
            let peers = values["nodes"] as? [String: String]
        else { throw ValidationError("\(dir) holds no local cluster (run `ferry cluster up --dir \(dir)` first)") }
        let shards = values["shards"] as? Int ?? self.shards
        let replicationFactor = values["replication_factor"] as? Int ?? self.replicationFactor
        let target = try ClusterTarget.parse(["--dir", dir, "--credentials", credentials])
        let parts = credentials.split(separator: ":").map(String.init)
        var next = existing.max()! + 1
        for _ in 0..<count {
            let id = next
            next += 1
            _ = try CertificateFiles.write(
                directory: cluster.certificates, nodeIDs: [UInt64(id)], hosts: ["127.0.0.1", "localhost"],
                clusterName: "local", force: false)
            let peer = "127.0.0.1:\(peerPort + id - 1)"
            let sqs = "127.0.0.1:\(sqsPort + id - 1)"
            var seeds = peers
            seeds["\(id)"] = peer
            try cluster.writeConfig(
                id: id, peers: seeds, sqsPort: sqsPort + id - 1, shards: shards, replicationFactor: replicationFactor)
            _ = try await target.call("AddNode", ["Id": id, "PeerAddress": peer, "SqsAddress": sqs])
            try cluster.start(id, arguments: ["--join", "--credentials", credentials, "--fsync", fsync] + serveOptions)
            let endpoint = "http://\(sqs)"
            try await cluster.waitServing(
                id, endpoint: endpoint, credentials: parts, deadline: Date().addingTimeInterval(Double(timeout)))
            print(
                "node \(id): \(endpoint) (pid \(cluster.pid(id).map(String.init) ?? "?"), log \(cluster.log(id))) added"
            )
        }
    }
}

struct ClusterDown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down", abstract: "Stop the nodes of the local cluster in --dir (SIGTERM, then SIGKILL).")

    @Option(help: "Directory given to `ferry cluster up`.")
    var dir: String

    @Option(help: "Seconds to wait after SIGTERM before SIGKILL.")
    var timeout = 10

    func run() async throws {
        let cluster = LocalCluster(directory: dir)
        var running: [(Int, pid_t)] = []
        for id in cluster.nodeIDs {
            if let pid = cluster.pid(id) {
                kill(pid, SIGTERM)
                running.append((id, pid))
            }
        }
        let deadline = Date().addingTimeInterval(Double(timeout))
        for (id, pid) in running {
            while kill(pid, 0) == 0 && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
            if kill(pid, 0) == 0 {
                kill(pid, SIGKILL)
                print("node \(id): killed (pid \(pid)) after \(timeout) s")
            } else {
                print("node \(id): stopped (pid \(pid))")
            }
            try? FileManager.default.removeItem(atPath: cluster.pidFile(id))
        }
    }
}

/// Starts a process in its own session (so it outlives this one), output appended to a file.
enum Spawn {
    /// glibc's POSIX_SPAWN_SETSID, which Swift does not import.
    static let spawnSetSessionFlag: Int32 = 0x80

    static func detached(_ arguments: [String], output: String, environment: [String: String] = [:]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(Self.spawnSetSessionFlag))
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var variables = ProcessInfo.processInfo.environment
        variables.merge(environment) { _, new in new }
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }
        let status = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard status == 0 else {
            throw ValidationError("cannot start \(arguments[0]): \(String(cString: strerror(status)))")
        }
        return pid
    }
}
