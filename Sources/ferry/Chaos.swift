import ArgumentParser
import FerryBench
import FerryChaos
import Foundation
import NIOPosix

/// `ferry chaos`: a local cluster of real `ferry serve` processes under a seeded schedule of faults, a
/// workload through every node, then heal, drain and a verdict on the whole history.
struct Chaos: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a local cluster under faults with a workload, then check that nothing acknowledged was lost.",
        discussion: """
            Starts --nodes `ferry serve` processes (as `ferry cluster up`), each in its own network namespace \
            when run as root, otherwise on loopback with a proxy on every peer link (--network), runs producers and consumers on every node (a standard queue redriving to a \
            dead-letter queue on another shard, and a FIFO queue), injects the --faults on a schedule drawn \
            from --seed (one at a time, each healed before the next), then heals everything, drains the \
            queues and checks the history (history.jsonl in --dir). The last line is the verdict: \
            chaos: VALID|INVALID — acknowledged N, lost L, unexpected U, duplicated D, mismatched M, \
            fifo-violations V; faults: …  Exit status 0 only when VALID (1: INVALID).
            Faults: kill (kill -9, restart), pause (SIGSTOP, SIGCONT), restart-loop (kill and restart \
            several times during catch-up), partition (a minority cut off both ways, one way or flapping), \
            clock (a wall clock stepped or skewed through libfaketime: scripts/setup --chaos installs it), \
            disk (a stopped node's log tail cut or a byte flipped, then restarted).
            """)

    @Option(help: "Nodes (2–7).")
    var nodes = 3

    @Option(help: "Seconds of workload under faults (then heal and drain).")
    var duration = 120

    @Option(help: "Seed of the fault schedule and the workload's choices (default: random, printed).")
    var seed: UInt64?

    @Option(help: "Fault kinds, comma-separated: kill,pause,restart-loop,partition,clock,disk (or all, none).")
    var faults = "all"

    @Option(help: "Directory for the cluster, its logs, the history and the report (must not hold a cluster).")
    var dir: String

    @Option(help: "Replicas of each shard.")
    var replicationFactor = 3

    @Option(help: "Shards of the cluster.")
    var shards = 4

    @Option(help: "Passed to every node: always, batch or never.")
    var fsync = "always"

    @Option(help: "Sends per second, all producers together.")
    var rate: Double = 40

    @Option(help: "SQS port of node 1; node N listens on this + N - 1.")
    var sqsPort = 9470

    @Option(help: "Peer-link port of node 1; node N listens on this + N - 1 (the proxies take free ports).")
    var peerPort = 9770

    @Option(help: "Seconds the drain may take to get every acknowledged message back.")
    var drainTimeout = 120

    @Flag(help: "Print the result as JSON on standard output (the verdict line still ends standard error).")
    var json = false

    @Option(help: "Write a self-contained HTML report to this file.")
    var report: String?

    @Option(
        help:
            "netns (each node in a network namespace: needs root), proxy (loopback, partitions through proxies on the peer links), or auto (netns when root)."
    )
    var network = "auto"

    @Flag(help: "Print the fault schedule the seed gives (seconds from the workload's start) and exit.")
    var dryRun = false

    func validate() throws {
        guard (2...7).contains(nodes) else { throw ValidationError("--nodes must be 2–7") }
        guard (1...nodes).contains(replicationFactor) else {
            throw ValidationError("--replication-factor must be 1–\(nodes)")
        }
        guard (1...64).contains(shards) else { throw ValidationError("--shards must be 1–64") }
        // The checker holds the whole history in memory (about 1 KB a request; 40 sends/s make ~150 requests/s).
        guard (10...21_600).contains(duration) else { throw ValidationError("--duration must be 10–21600 seconds") }
        guard rate > 0 && rate <= 5_000 else { throw ValidationError("--rate must be in (0, 5000]") }
        guard ["always", "batch", "never"].contains(fsync) else {
            throw ValidationError("--fsync: always, batch or never")
        }
        if case .failure(let error) = ChaosFaultKind.parseList(faults) { throw ValidationError(error.description) }
        guard ["auto", "netns", "proxy"].contains(network) else {
            throw ValidationError("--network: auto, netns or proxy")
        }
        if fsync != "always", (try? ChaosFaultKind.parseList(faults).get())?.contains(.disk) == true {
            // With batch or never, a node may lose its unsynced tail in any crash: damage on top of that
            // is outside what a log can tell apart, so the disk fault runs only with every write synced.
            throw ValidationError("the disk fault needs --fsync always (leave disk out of --faults)")
        }
    }

    func run() async throws {
        let seed = self.seed ?? UInt64.random(in: 1...999_999)
        let kinds = try ChaosFaultKind.parseList(faults).get()
        let say: @Sendable (String) -> Void = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
        let fakeTime = ChaosNemesis.fakeTimeLibraries.first { FileManager.default.fileExists(atPath: $0) }
        if kinds.contains(.clock) && fakeTime == nil {
            throw ValidationError(
                "the clock fault needs libfaketime (Debian's faketime package: scripts/setup --chaos installs it), "
                    + "or leave clock out of --faults")
        }
        let schedule = ChaosSchedule(seed: seed, durationMs: Int64(duration) * 1_000, nodes: nodes, kinds: kinds)
        if dryRun {
            for fault in schedule.faults {
                print(
                    String(
                        format: "%7.1f–%7.1f s  %@", Double(fault.startMs) / 1_000, Double(fault.endMs) / 1_000,
                        fault.summary))
            }
            print(
                "seed \(seed): \(schedule.faults.count) faults (\(schedule.counts.isEmpty ? "none" : schedule.counts))")
            return
        }
        let cluster = LocalCluster(directory: dir)
        guard cluster.nodeIDs.isEmpty else {
            throw ValidationError("\(dir) already holds a cluster; give a new --dir")
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        say(
            "chaos: seed \(seed), \(nodes) nodes, \(duration) s, faults \(kinds.map(\.rawValue).joined(separator: ","))"
        )

        // As root, each node in its own network namespace (partitions by the kernel); otherwise loopback
        // with a proxy on every peer link (a dials b through proxy a-b).
        var namespaces: ChaosNamespaces?
        if network == "netns" || network == "auto" && ChaosNamespaces.available {
            guard let ip = ChaosNamespaces.ipCommand(), geteuid() == 0 else {
                throw ValidationError("--network netns needs root and iproute2's ip")
            }
            let made = ChaosNamespaces(nodes: nodes, ip: ip)
            do {
                try made.create()
                namespaces = made
            } catch {
                made.remove()
                guard network == "auto" else { throw error }
                say("chaos: no network namespaces (\(error)); partitions go through proxies")
            }
        }
        defer { namespaces?.remove() }
        let host = { (node: Int) in namespaces?.address(node) ?? "127.0.0.1" }
        _ = try CertificateFiles.write(
            directory: cluster.certificates, nodeIDs: (1...nodes).map(UInt64.init),
            hosts: ["127.0.0.1", "localhost"] + (namespaces.map { spaces in (1...nodes).map(spaces.address) } ?? []),
            clusterName: "local", force: false)
        var proxies: [String: ChaosLinkProxy] = [:]
        var proxyPorts: [String: Int] = [:]
        for a in 1...nodes where namespaces == nil {
            for b in 1...nodes where a < b {
                let proxy = ChaosLinkProxy(
                    listenPort: 0, targetHost: "127.0.0.1", targetPort: peerPort + b - 1,
                    group: MultiThreadedEventLoopGroup.singleton)
                proxyPorts["\(a)-\(b)"] = try await proxy.start()
                proxies["\(a)-\(b)"] = proxy
            }
        }
        for id in 1...nodes {
            var peers: [String: String] = [:]
            for other in 1...nodes {
                peers["\(other)"] = "\(host(other)):\(proxyPorts["\(id)-\(other)"] ?? peerPort + other - 1)"
            }
            try cluster.writeConfig(
                id: id, peers: peers, host: host(id), sqsPort: sqsPort + id - 1, shards: shards,
                replicationFactor: replicationFactor)
        }
        say(
            "chaos: "
                + (namespaces.map { "nodes in network namespaces \($0.namespace(1))…" } ?? "proxies on the peer links"))

        let credentials = ["chaos", "chaos-secret-\(seed)"]
        let origin = ContinuousClock.now
        let historyPath = cluster.path("history.jsonl")
        let queues = ChaosQueues(shardCount: shards)
        let recorder = try ChaosRecorder(
            path: historyPath, origin: origin, poison: (ChaosWorkload.poisonSuffix, queues.deadLetter))
        let nemesis = ChaosNemesis(
            cluster: cluster, nodes: nodes,
            serveArguments: [
                "--credentials", credentials.joined(separator: ":"), "--fsync", fsync, "--snapshot-every", "2000",
            ],
            fakeTimeLibrary: kinds.contains(.clock) ? fakeTime : nil, proxies: proxies, namespaces: namespaces,
            recorder: recorder, seed: seed,
            log: { line in say(String(format: "[%7.1f s] ", Double(recorder.now()) / 1_000) + line) })
        defer { nemesis.stopAll() }
        // Interrupted (Ctrl-C, SIGTERM): the nodes are stopped and the namespaces removed before exiting.
        let spaces = namespaces
        let interrupts = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                say("chaos: interrupted; stopping the nodes (the history so far is in \(historyPath))")
                nemesis.stopAll(timeoutSeconds: 5)
                spaces?.remove()
                Foundation.exit(130)
            }
            source.resume()
            return source
        }
        defer {
            for source in interrupts { source.cancel() }
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }
        for id in 1...nodes { try nemesis.start(id) }
        let endpoints = (1...nodes).map { "http://\(host($0)):\(sqsPort + $0 - 1)" }
        let deadline = Date().addingTimeInterval(60)
        for id in 1...nodes {
            try await cluster.waitServing(id, endpoint: endpoints[id - 1], credentials: credentials, deadline: deadline)
        }

        var settings = ChaosWorkload.Configuration(
            endpoints: endpoints, accessKeyId: credentials[0], secret: credentials[1])
        settings.shardCount = shards
        settings.seed = seed
        settings.sendsPerSecond = rate
        let workload = ChaosWorkload(configuration: settings, recorder: recorder)
        try await workload.createQueues(deadline: .now + .seconds(60))
        // The schedule counts from the workload's start.
        let base = recorder.now()
        let durationMs = Int64(duration) * 1_000 + base
        let faultsPlanned = schedule.faults.map { fault in
            var shifted = fault
            shifted.startMs += base
            shifted.endMs += base
            return shifted
        }
        say("chaos: \(schedule.faults.count) faults scheduled (\(schedule.counts.isEmpty ? "none" : schedule.counts))")

        let producing = Task { await workload.runProducers() }
        let consuming = Task { await workload.runConsumers() }
        let progress = Task { await Self.showProgress(recorder: recorder, nemesis: nemesis, endMs: durationMs) }
        let watching = Task { await nemesis.watch() }
        for fault in faultsPlanned { await nemesis.run(fault) }
        await Self.sleep(untilMs: durationMs, recorder: recorder)
        nemesis.healAll()
        say(String(format: "[%7.1f s] ", Double(recorder.now()) / 1_000) + "healed; draining")
        workload.stopProducing()
        // Every node must serve again; then producers end what they have under way (retries included),
        // and consumers go on until every acknowledged message (a poison one: from the dead-letter queue)
        // has come back.
        var nodesDown: [String] = []
        let healedBy = Date().addingTimeInterval(60)
        for id in 1...nodes {
            do {
                try await cluster.waitServing(
                    id, endpoint: endpoints[id - 1], credentials: credentials, deadline: healedBy,
                    alive: { nemesis.isRunning(id) })
            } catch {
                nodesDown.append("node \(id) did not serve again within 60 s of the heal (see \(cluster.log(id)))")
            }
        }
        await producing.value
        let drainEnd = recorder.now() + Int64(drainTimeout) * 1_000
        while recorder.outstanding > 0 && recorder.now() < drainEnd {
            try await Task.sleep(for: .milliseconds(250))
        }
        workload.stop()
        await consuming.value
        progress.cancel()
        watching.cancel()
        await watching.value
        nodesDown = nemesis.exits + nodesDown
        recorder.close()
        nemesis.stopAll()
        for proxy in proxies.values { await proxy.stop() }

        let history = try ChaosRecorder.read(path: historyPath)
        let checker = ChaosChecker(redrives: [
            .init(
                source: queues.standard, deadLetter: queues.deadLetter, maxReceiveCount: settings.maxReceiveCount,
                poisonSuffix: ChaosWorkload.poisonSuffix)
        ])
        var verdict = checker.check(history)
        verdict.nodesDown = nodesDown
        let faultsDone = history.compactMap(\.fault)
        let summary = ChaosSummary(
            seed: seed, nodes: nodes, durationSeconds: duration, faults: faultsDone, verdict: verdict,
            history: history, historyPath: historyPath, reportPath: report)
        if let report {
            let html = ChaosReport.html(summary: summary)
            guard FileManager.default.createFile(atPath: report, contents: Data(html.utf8)) else {
                throw ValidationError("cannot write \(report)")
            }
        }
        if json {
            print(summary.json)
        } else {
            for line in summary.textLines { say(line) }
        }
        if let error = recorder.writeError { say("chaos: the history could not be written whole: \(error)") }
        say(verdict.line(faults: summary.faultCounts))
        if !verdict.isValid || recorder.writeError != nil { throw ExitCode(1) }
    }

    static func sleep(untilMs ms: Int64, recorder: ChaosRecorder) async {
        let wait = ms - recorder.now()
        if wait > 0 { try? await Task.sleep(for: .milliseconds(wait)) }
    }

    /// Elapsed / remaining, rate, errors and the fault under way, once a second on a terminal.
    static func showProgress(recorder: ChaosRecorder, nemesis: ChaosNemesis, endMs: Int64) async {
        guard isatty(2) != 0 else { return }
        var previous = recorder.counts
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let counts = recorder.counts
            let elapsed = recorder.now() / 1_000
            let remaining = max(0, endMs / 1_000 - elapsed)
            let line =
                "\r\u{1B}[K\(elapsed) s, \(remaining) s left · \(counts.operations - previous.operations) req/s · "
                + "acknowledged \(counts.acknowledged) · failed \(counts.failed) · unknown \(counts.unknown) · "
                + "outstanding \(recorder.outstanding) · \(nemesis.fault.map { "fault: \($0)" } ?? "no fault")"
            FileHandle.standardError.write(Data(line.utf8))
            previous = counts
        }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
