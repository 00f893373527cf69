import FerryChaos
import Foundation
import NIOPosix
import Raft

#if canImport(Glibc)
    import Glibc
#endif

/// The real processes of a chaos run and what is done to them: kill -9 and restart, SIGSTOP/SIGCONT,
/// links cut through the peer-link proxies, wall clocks moved through libfaketime's control file, logs
/// damaged while a node is down. Each fault is healed at its window's end and recorded in the history.
final class ChaosNemesis: @unchecked Sendable {
    /// Where Debian's libfaketime lives (the multi-threaded build, for a multi-threaded server).
    static let fakeTimeLibraries = [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
    ]

    let cluster: LocalCluster
    let nodes: Int
    let serveArguments: [String]
    let fakeTimeLibrary: String?
    /// The proxy on the link between nodes a < b, keyed "a-b" (none when the nodes are in namespaces).
    let proxies: [String: ChaosLinkProxy]
    /// Each node's network namespace, when run as root.
    let namespaces: ChaosNamespaces?
    let recorder: ChaosRecorder
    let log: @Sendable (String) -> Void
    private var pids: [Int: pid_t] = [:]
    private var random: SplitMix64
    /// The fault under way, for the progress line.
    private let lock = NSLock()
    private var currentFault: String?
    private var unexpectedExits: [String] = []

    init(
        cluster: LocalCluster, nodes: Int, serveArguments: [String], fakeTimeLibrary: String?,
        proxies: [String: ChaosLinkProxy], namespaces: ChaosNamespaces?, recorder: ChaosRecorder, seed: UInt64,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.cluster = cluster
        self.nodes = nodes
        self.serveArguments = serveArguments
        self.fakeTimeLibrary = fakeTimeLibrary
        self.proxies = proxies
        self.namespaces = namespaces
        self.recorder = recorder
        self.random = SplitMix64(seed: seed ^ 0x0DEC_AF00_0000_0001)
        self.log = log
    }

    var fault: String? { lock.withLock { currentFault } }

    // MARK: Processes

    func clockFile(_ node: Int) -> String { cluster.path("node-\(node).faketime") }

    func start(_ node: Int) throws {
        var environment: [String: String] = [:]
        if let library = fakeTimeLibrary {
            if !FileManager.default.fileExists(atPath: clockFile(node)) { setClock(node, "+0") }
            environment = [
                "LD_PRELOAD": library, "FAKETIME_TIMESTAMP_FILE": clockFile(node), "FAKETIME_CACHE_DURATION": "1",
                "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            ]
        }
        let pid = try cluster.start(
            node, arguments: serveArguments, environment: environment, prefix: namespaces?.prefix(node) ?? [])
        lock.withLock { pids[node] = pid }
    }

    /// True while node's process runs. A process that ended without being killed here is reaped and
    /// recorded in `exits`.
    func isRunning(_ node: Int) -> Bool {
        guard let pid = lock.withLock({ pids[node] }) else { return false }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return true }
        let line = String(
            format: "node %d exited on its own at %.1f s (wait status %d; see %@)", node,
            Double(recorder.now()) / 1_000, status, cluster.log(node))
        // Killed here meanwhile (kill9 forgets the pid before the signal): not an exit of its own.
        let own = lock.withLock {
            guard pids[node] == pid else { return false }
            pids[node] = nil
            unexpectedExits.append(line)
            return true
        }
        if own { log(line) }
        return false
    }

    /// Nodes that exited without being killed here.
    var exits: [String] { lock.withLock { unexpectedExits } }

    /// Notices a node that exits on its own, once a second, until cancelled.
    func watch() async {
        while !Task.isCancelled {
            for node in 1...nodes { _ = isRunning(node) }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    func kill9(_ node: Int) {
        guard let pid = lock.withLock({ pids.removeValue(forKey: node) }) else { return }
        kill(pid, SIGCONT)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    func signal(_ node: Int, _ signal: Int32) {
        if let pid = lock.withLock({ pids[node] }) { kill(pid, signal) }
    }

    /// SIGTERM to every node, SIGKILL after `timeoutSeconds`.
    func stopAll(timeoutSeconds: Double = 10) {
        let running = lock.withLock { pids }
        for (_, pid) in running {
            kill(pid, SIGCONT)
            kill(pid, SIGTERM)
        }
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        for (node, pid) in running {
            var status: Int32 = 0
            while waitpid(pid, &status, WNOHANG) == 0 {
                if Date() > deadline {
                    kill(pid, SIGKILL)
                    waitpid(pid, &status, 0)
                    break
                }
                usleep(50_000)
            }
            try? FileManager.default.removeItem(atPath: cluster.pidFile(node))
        }
        lock.withLock { pids = [:] }
    }

    func setClock(_ node: Int, _ specification: String) {
        _ = FileManager.default.createFile(atPath: clockFile(node), contents: Data((specification + "\n").utf8))
    }

    // MARK: Links

    /// The proxies of links between `side` and the other nodes.
    private func links(crossing side: [Int]) -> [(proxy: ChaosLinkProxy, lowerInSide: Bool)] {
        var result: [(ChaosLinkProxy, Bool)] = []
        for a in 1...nodes {
            for b in 1...nodes where a < b && side.contains(a) != side.contains(b) {
                if let proxy = proxies["\(a)-\(b)"] { result.append((proxy, side.contains(a))) }
            }
        }
        return result
    }

    private func setLinks(crossing side: [Int], oneWay: Bool, open: Bool) {
        if let namespaces {
            for inside in side {
                for outside in 1...nodes where !side.contains(outside) {
                    // What the side sends is lost; both ways unless one way.
                    namespaces.drop(from: inside, to: outside, !open)
                    namespaces.drop(from: outside, to: inside, !open && !oneWay)
                }
            }
            return
        }
        for (proxy, lowerInSide) in links(crossing: side) {
            if open {
                proxy.state = .open
            } else if oneWay {
                // What the side sends is lost; what it is sent arrives.
                proxy.state =
                    lowerInSide ? .init(forward: false, backward: true) : .init(forward: true, backward: false)
            } else {
                proxy.state = .cut
            }
        }
    }

    // MARK: Faults

    /// Sleeps until `ms` after the run's start.
    private func sleep(untilMs ms: Int64) async {
        let wait = ms - recorder.now()
        if wait > 0 { try? await Task.sleep(for: .milliseconds(wait)) }
    }

    private func draw(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }

    /// Runs `fault` in its window (waiting for its start), heals it, and records it with the times it
    /// really began and ended.
    func run(_ fault: ChaosFault) async {
        await sleep(untilMs: fault.startMs)
        if Task.isCancelled { return }
        var done = fault
        done.startMs = recorder.now()
        lock.withLock { currentFault = fault.summary }
        log("fault: \(fault.summary)")
        let node = fault.nodes[0]
        switch fault.kind {
        case .kill:
            kill9(node)
            await sleep(untilMs: fault.endMs)
            restart(node)
        case .pause:
            signal(node, SIGSTOP)
            await sleep(untilMs: fault.endMs)
            signal(node, SIGCONT)
        case .restartLoop:
            for round in 0..<(fault.repeats ?? 2) {
                kill9(node)
                try? await Task.sleep(for: .milliseconds(draw(300...1_200)))
                restart(node)
                if round + 1 < (fault.repeats ?? 2) { try? await Task.sleep(for: .milliseconds(draw(800...2_500))) }
            }
            await sleep(untilMs: fault.endMs)
        case .partition:
            if fault.variant == .flapping {
                let flips = max(1, fault.repeats ?? 4)
                let step = (fault.endMs - fault.startMs) / Int64(flips)
                for flip in 0..<flips {
                    setLinks(crossing: fault.nodes, oneWay: false, open: flip % 2 == 1)
                    await sleep(untilMs: fault.startMs + step * Int64(flip + 1))
                }
            } else {
                setLinks(crossing: fault.nodes, oneWay: fault.variant == .oneWay, open: false)
                await sleep(untilMs: fault.endMs)
            }
            setLinks(crossing: fault.nodes, oneWay: false, open: true)
        case .clock:
            let offset = fault.clockOffsetSeconds ?? 0
            let step = offset >= 0 ? "+\(offset)" : "\(offset)"
            setClock(node, fault.clockRate.map { "\(step) x\($0)" } ?? step)
            await sleep(untilMs: fault.endMs)
            setClock(node, "+0")
        case .disk:
            kill9(node)
            let damage = damageLog(of: node, truncate: fault.variant == .truncate)
            log("  \(damage)")
            await sleep(untilMs: fault.endMs)
            restart(node)
        }
        done.endMs = recorder.now()
        lock.withLock { currentFault = nil }
        recorder.record(
            ChaosOperation(
                id: 0, node: node, action: .fault, queue: "", startMs: done.startMs, endMs: done.endMs, outcome: .ok,
                fault: done))
    }

    private func restart(_ node: Int) {
        guard !isRunning(node) else { return }
        do {
            try start(node)
        } catch {
            log("node \(node) did not restart: \(error)")
        }
    }

    /// Heals everything: every node running and resumed, every link open, every clock true.
    func healAll() {
        for node in 1...nodes {
            signal(node, SIGCONT)
            if fakeTimeLibrary != nil { setClock(node, "+0") }
            restart(node)
        }
        for proxy in proxies.values { proxy.state = .open }
        namespaces?.healAll()
    }

    // MARK: Disk

    /// Damages a stopped node's log: the newest segment of one of its shards loses its last bytes, or a
    /// byte of written data (in an older segment when there is one) gets a bit flipped.
    func damageLog(of node: Int, truncate: Bool) -> String {
        let manager = FileManager.default
        let data = cluster.data(node)
        let shards = ((try? manager.contentsOfDirectory(atPath: data)) ?? []).filter { $0.hasPrefix("shard-") }.sorted()
        var candidates: [(shard: String, segments: [String])] = []
        for shard in shards {
            let directory = (data as NSString).appendingPathComponent(shard)
            let segments = ((try? manager.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { $0.hasPrefix("segment-") && $0.hasSuffix(".log") }.sorted()
                .map { (directory as NSString).appendingPathComponent($0) }
            if !segments.isEmpty { candidates.append((shard, segments)) }
        }
        guard !candidates.isEmpty else { return "no log segment to damage on node \(node)" }
        let (shard, segments) = candidates[draw(0...(candidates.count - 1))]
        if truncate {
            let path = segments[segments.count - 1]
            let end = Self.writtenBytes(path)
            guard end > 0 else { return "node \(node) \(shard): newest segment empty, nothing cut" }
            let cut = draw(1...min(4_096, end))
            guard Glibc.truncate(path, off_t(end - cut)) == 0 else { return "node \(node) \(shard): truncate failed" }
            return
                "node \(node) \(shard): cut the last \(cut) of \(end) written bytes of \((path as NSString).lastPathComponent)"
        }
        let path = segments.count > 1 ? segments[draw(0...(segments.count - 2))] : segments[segments.count - 1]
        let end = Self.writtenBytes(path)
        guard end > 0, let handle = FileHandle(forUpdatingAtPath: path) else {
            return "node \(node) \(shard): nothing written to flip"
        }
        defer { try? handle.close() }
        // In the newest segment, stay clear of its last write (damage there is a torn write, cut, not found).
        let limit = segments.count > 1 ? end : max(1, end - 8_192)
        let offset = draw(0...(limit - 1))
        let bit = UInt8(1) << UInt8(draw(0...7))
        do {
            try handle.seek(toOffset: UInt64(offset))
            guard let byte = try handle.read(upToCount: 1)?.first else { return "node \(node): read failed" }
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: [byte ^ bit])
            try handle.synchronize()
        } catch {
            return "node \(node) \(shard): flip failed: \(error)"
        }
        return "node \(node) \(shard): flipped bit \(bit) of byte \(offset) of \((path as NSString).lastPathComponent)"
    }

    /// The length of a segment up to its last non-zero byte (segments are preallocated with zeros).
    static func writtenBytes(_ path: String) -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { return 0 }
        var end = data.count
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            while end > 0 && bytes[end - 1] == 0 { end -= 1 }
        }
        return end
    }
}
