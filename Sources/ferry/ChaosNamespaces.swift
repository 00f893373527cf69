import Foundation

/// Network namespaces for a chaos run as root: each node in its own namespace, joined to the others and
/// to this process by a veth pair on one bridge, so partitions are made by the kernel (a blackhole route
/// in a node's namespace drops what it sends to a peer) rather than by the peer-link proxies. Names carry
/// a run tag, so a run never touches another's; everything is removed at the end.
final class ChaosNamespaces: @unchecked Sendable {
    let tag: String
    let nodes: Int
    let ip: String
    /// The third byte of the run's 10.x.y.0/24 subnet.
    let subnet: Int
    private let lock = NSLock()
    /// Blackhole routes in place: (node whose namespace holds it, address it drops).
    private var blackholes: Set<[Int]> = []

    /// Where iproute2's `ip` is, if it is installed.
    static func ipCommand() -> String? {
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// True when this process can make namespaces (root, with `ip`).
    static var available: Bool { geteuid() == 0 && ipCommand() != nil }

    /// Subnets 10.213.16.0/24 … 10.213.215.0/24 are tried, from one drawn from the process id, until one
    /// no interface uses (two runs at once get two subnets).
    static let subnetsTried = 200

    init(nodes: Int, ip: String) {
        let run = Int(getpid()) % 10_000
        self.tag = "fc\(run)"
        self.nodes = nodes
        self.ip = ip
        let used = (try? Self.command(ip, ["-o", "addr", "show"])) ?? ""
        let first = Int(getpid()) % Self.subnetsTried
        self.subnet =
            (0..<Self.subnetsTried).lazy.map { 16 + (first + $0) % Self.subnetsTried }
            .first { !used.contains("10.213.\($0).") } ?? 16 + first
    }

    func namespace(_ node: Int) -> String { "\(tag)-n\(node)" }
    func address(_ node: Int) -> String { "10.213.\(subnet).\(10 + node)" }
    var bridge: String { "\(tag)-br" }

    /// Runs `ip ARGUMENTS`; throws with its output when it fails.
    @discardableResult
    func run(_ arguments: [String]) throws -> String { try Self.command(ip, arguments) }

    static func command(_ ip: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ChaosNetworkError(description: "ip \(arguments.joined(separator: " ")): \(output)")
        }
        return output
    }

    /// The bridge (this process's side, 10.213.S.1) and one namespace per node behind a veth pair.
    func create() throws {
        try run(["link", "add", bridge, "type", "bridge"])
        try run(["addr", "add", "10.213.\(subnet).1/24", "dev", bridge])
        try run(["link", "set", bridge, "up"])
        for node in 1...nodes {
            let (outside, inside) = ("\(tag)-v\(node)", "\(tag)-p\(node)")
            try run(["netns", "add", namespace(node)])
            try run(["link", "add", outside, "type", "veth", "peer", "name", inside])
            try run(["link", "set", outside, "master", bridge])
            try run(["link", "set", outside, "up"])
            try run(["link", "set", inside, "netns", namespace(node)])
            try run(["-n", namespace(node), "addr", "add", address(node) + "/24", "dev", inside])
            try run(["-n", namespace(node), "link", "set", inside, "up"])
            try run(["-n", namespace(node), "link", "set", "lo", "up"])
        }
    }

    /// Removes the namespaces (their veth ends go with them) and the bridge.
    func remove() {
        // Deleting the outer end of a veth pair deletes both at once (a namespace's own removal is
        // finished by the kernel later).
        for node in 1...nodes { _ = try? run(["link", "del", "\(tag)-v\(node)"]) }
        for node in 1...nodes { _ = try? run(["netns", "del", namespace(node)]) }
        _ = try? run(["link", "del", bridge])
    }

    /// The command prefix that runs a program in node's namespace.
    func prefix(_ node: Int) -> [String] { [ip, "netns", "exec", namespace(node)] }

    /// Drops (or lets through again) what `from` sends to `to`.
    func drop(from: Int, to: Int, _ dropping: Bool) {
        let key = [from, to]
        let change = lock.withLock { () -> Bool in
            dropping ? blackholes.insert(key).inserted : blackholes.remove(key) != nil
        }
        guard change else { return }
        _ = try? run(["-n", namespace(from), "route", dropping ? "add" : "del", "blackhole", address(to) + "/32"])
    }

    /// Every dropped route removed.
    func healAll() {
        for key in lock.withLock({ blackholes }) { drop(from: key[0], to: key[1], false) }
    }
}

struct ChaosNetworkError: Error, CustomStringConvertible {
    var description: String
}
