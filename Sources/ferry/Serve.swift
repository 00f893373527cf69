import ArgumentParser
import Cluster
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import QueueEngine
import SQSFrontend

/// `ferry serve`: run one node.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the SQS API on one node: alone (a cluster of one) or as a node of a cluster.")

    @Option(help: "A JSON cluster config file (see cluster/ in the repository); flags override its values.")
    var config: String?

    @Option(help: "Address to listen on for SQS clients (default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on for SQS clients (default 9324; 0 picks a free port).")
    var port: Int?

    @Option(
        help:
            "Directory for the node's data: one log directory per shard, snapshots and the receipt-handle key (created if missing; default ferry-data)."
    )
    var dataDir: String?

    @Option(help: "This node's id in the cluster (default 1).")
    var nodeId: UInt64?

    @Option(
        name: .customLong("node"),
        help: "A node of the cluster as ID=HOST:PORT, its peer-link address, this node included (repeatable).")
    var nodeAddresses: [String] = []

    @Flag(
        help:
            "Join a running cluster as a node added by `ferry cluster add-node`: host nothing until the cluster's configuration gives this node replicas (--node names nodes of the cluster to reach, this node included)."
    )
    var join = false

    @Option(help: "HOST:PORT to accept peer links on (default: this node's --node address).")
    var peerListen: String?

    @Option(help: "Directory from `ferry certs`: ca.pem, node-ID.pem, node-ID-key.pem and cluster.key.")
    var certs: String?

    @Option(help: "Name shared by every node of the cluster (default ferry).")
    var clusterName: String?

    @Option(help: "Shards (Raft groups) of the cluster, fixed at creation (1–4096; default 8).")
    var shards: Int?

    @Option(help: "Replicas of each shard (1–7; default 3, or the node count when smaller).")
    var replicationFactor: Int?

    @Flag(help: "Keep all state in memory only: nothing survives a restart (for tests and throwaway queues).")
    var inMemory = false

    @Option(
        help: """
            When a request is acknowledged: always (after fdatasync: nothing acknowledged is ever lost), batch \
            (after write, fdatasync every --fsync-interval-ms: a power loss can lose that window), never (after write: \
            a power loss can lose what the kernel has not written back). A crash of the process alone loses nothing \
            in any mode.
            """)
    var fsync = "always"

    @Option(help: "With --fsync batch: milliseconds between fdatasyncs (1–10000).")
    var fsyncIntervalMs = 50

    @Option(
        help:
            "Shards whose replicas move at once when nodes join or leave (1–64; the metadata group's leader's setting applies)."
    )
    var movingShardsMax = 2

    @Option(help: "MiB per second each shard's leader streams snapshots at, at most (1–4096): bounds what moves take.")
    var snapshotMibPerSecond = 32

    @Option(help: "Commands logged between snapshots of the queue state (1000–100000000).")
    var snapshotEvery = 100_000

    @Option(
        name: .customLong("credentials"),
        help:
            "Accepted credentials as KEY:SECRET[:ACCOUNT] (repeatable; prefer --credentials-file or FERRY_CREDENTIALS, which other users cannot read in the process list). A key sees only its account's queues (default: --account-id). Without any, signatures are not checked."
    )
    var credentials: [String] = []

    @Option(
        help:
            "A file of accepted credentials, one KEY:SECRET[:ACCOUNT] per line (# starts a comment); the environment variable FERRY_CREDENTIALS may hold them too, separated by commas or newlines."
    )
    var credentialsFile: String?

    @Flag(help: "Serve without credentials on an address other than loopback (anyone who reaches it may do anything).")
    var allowAnonymous = false

    @Option(
        help:
            "The web console at /console: off, read-only or read-write (read-write adds the dead-letter redrive button). Default: read-only with credentials (HTTP Basic with an access key id and secret), off without."
    )
    var console: String?

    @Option(help: "Messages one queue may hold; past it sends get RequestThrottled (clients retry).")
    var queueMessagesMax = 1_000_000

    @Option(help: "Bytes (bodies and attributes) one queue may hold; past it sends get RequestThrottled.")
    var queueBytesMax = 1 << 30

    @Option(help: "Messages one shard (all its queues) may hold; bounds the node's memory with --shard-bytes-max.")
    var shardMessagesMax = 2_000_000

    @Option(help: "Bytes one shard (all its queues) may hold.")
    var shardBytesMax = 2 << 30

    @Option(help: "Seconds a client connection may stay silent before it is closed (1–3600).")
    var idleTimeoutSeconds = 60

    @Option(help: "Most client connections held open at once (16–1000000); past it new ones are closed at once.")
    var connectionsMax = 4_096

    @Option(
        help:
            "Seconds a request may take to arrive whole, from its first byte (1–3600); past it the connection is closed."
    )
    var requestReadTimeoutSeconds = 30

    @Option(
        help:
            "Bytes of request bodies held at once over every connection, before their signatures are checked (at least 6 MiB); past it requests get ServiceUnavailable."
    )
    var bodyBufferBytesMax = 256 * 1024 * 1024

    @Option(help: "PEM certificate chain: serve HTTPS (needs --tls-key).")
    var tlsCert: String?

    @Option(help: "PEM private key for --tls-cert.")
    var tlsKey: String?

    @Option(help: "Account id in queue URLs and ARNs.")
    var accountId = "000000000000"

    @Option(help: "Region in queue ARNs.")
    var region = "us-east-1"

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        if let port, !(0...65_535).contains(port) { throw ValidationError("--port must be 0–65535") }
        for credential in credentials where Self.credential(credential) == nil {
            throw ValidationError("--credentials takes KEY:SECRET[:ACCOUNT], got '\(credential)'")
        }
        for (name, value) in [
            ("--queue-messages-max", queueMessagesMax), ("--queue-bytes-max", queueBytesMax),
            ("--shard-messages-max", shardMessagesMax), ("--shard-bytes-max", shardBytesMax),
        ] where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
        guard (1...3_600).contains(idleTimeoutSeconds) else {
            throw ValidationError("--idle-timeout-seconds must be 1–3600")
        }
        guard (1...3_600).contains(requestReadTimeoutSeconds) else {
            throw ValidationError("--request-read-timeout-seconds must be 1–3600")
        }
        guard bodyBufferBytesMax >= SQSResponder.Limits.requestBodyBytesMax else {
            throw ValidationError("--body-buffer-bytes-max must be at least \(SQSResponder.Limits.requestBodyBytesMax)")
        }
        guard (16...1_000_000).contains(connectionsMax) else {
            throw ValidationError("--connections-max must be 16–1000000")
        }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard accountId.count == 12, accountId.allSatisfy(\.isNumber) else {
            throw ValidationError("--account-id must be 12 digits")
        }
        if let console, ConsoleMode(rawValue: console) == nil {
            throw ValidationError("--console takes off, read-only or read-write, got '\(console)'")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        guard ["always", "batch", "never"].contains(fsync) else {
            throw ValidationError("--fsync takes always, batch or never, got '\(fsync)'")
        }
        guard (1...10_000).contains(fsyncIntervalMs) else {
            throw ValidationError("--fsync-interval-ms must be 1–10000")
        }
        guard (1_000...100_000_000).contains(snapshotEvery) else {
            throw ValidationError("--snapshot-every must be 1000–100000000")
        }
        if let dataDir, dataDir.isEmpty { throw ValidationError("--data-dir must not be empty") }
        guard (1...64).contains(movingShardsMax) else { throw ValidationError("--moving-shards-max must be 1–64") }
        guard (1...4_096).contains(snapshotMibPerSecond) else {
            throw ValidationError("--snapshot-mib-per-second must be 1–4096")
        }
    }

    func run() async throws {
        var logger = Logger(label: "ferry")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let file = try config.map(ClusterFile.load)
        let dataDir = self.dataDir ?? file?.dataDir ?? "ferry-data"
        var configuration: SQSServerConfiguration
        if inMemory {
            configuration = SQSServerConfiguration(receiptHandleKey: try ReceiptKey.load(dataDirectory: nil))
            var cluster = ClusterConfiguration.inMemory(
                receiptHandleKey: configuration.receiptHandleKey, accountId: accountId, region: region)
            cluster.shard.snapshotEntries = UInt64(snapshotEvery)
            applyCapacity(to: &cluster.shard)
            configuration.cluster = cluster
            logger.warning("--in-memory: queues and messages are lost when the process stops")
        } else {
            let cluster = try clusterConfiguration(file: file, dataDir: dataDir, logger: logger)
            configuration = SQSServerConfiguration(receiptHandleKey: cluster.receiptHandleKey)
            configuration.cluster = cluster
            configuration.onClusterFailure = { _ in
                FileHandle.standardError.write(
                    Data("ferry: a shard's log failed; exiting in 1 s so the node restarts from its log\n".utf8))
                // Leave a moment for the ServiceUnavailable answers already given to reach their clients.
                DispatchQueue.global().asyncAfter(deadline: .now() + 1) { Foundation.exit(75) }
            }
        }
        // One registry for `/metrics`: what the frontend records, and what swift-metrics records anywhere.
        let metrics = NodeMetrics()
        var factory = PrometheusMetricsFactory(registry: metrics.registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .seconds(1),
        ]
        MetricsSystem.bootstrap(factory)
        configuration.metrics = metrics
        configuration.host = host ?? file?.host ?? "127.0.0.1"
        configuration.port = port ?? file?.port ?? 9324
        configuration.accountId = accountId
        configuration.region = region
        configuration.tlsCertificatePath = tlsCert
        configuration.tlsKeyPath = tlsKey
        for credential in try allCredentials(fileCredentials: file?.credentialsFile) {
            configuration.credentials[credential.key] = credential.secret
            if let account = credential.account, account != accountId {
                configuration.accounts[credential.key] = account
            }
        }
        configuration.console = console.flatMap(ConsoleMode.init(rawValue:))
        configuration.idleTimeoutSeconds = idleTimeoutSeconds
        configuration.requestReadTimeoutSeconds = requestReadTimeoutSeconds
        configuration.bodyBufferBytesMax = bodyBufferBytesMax
        configuration.connectionsMax = connectionsMax
        if configuration.credentials.isEmpty {
            guard Self.isLoopback(configuration.host) || allowAnonymous else {
                throw ValidationError(
                    "refusing to serve \(configuration.host) without credentials: give --credentials-file (or FERRY_CREDENTIALS, or --credentials), or --allow-anonymous to accept any client"
                )
            }
            logger.warning("no credentials given: request signatures are NOT checked; any client is accepted")
        }
        let app = try SQSServer.makeApplication(configuration, logger: logger) { url in
            FileHandle.standardOutput.write(Data("ferry listening on \(url)\n".utf8))
        }
        try await app.runService()
        logger.info("ferry stopped")
    }
}

extension Serve {
    /// The capacity bounds into a shard's settings.
    func applyCapacity(to settings: inout ShardSettings) {
        settings.queueMessagesMax = queueMessagesMax
        settings.queueBytesMax = queueBytesMax
        settings.shardMessagesMax = shardMessagesMax
        settings.shardBytesMax = shardBytesMax
    }

    /// `--credentials`, then the config file's `credentials_file` and `--credentials-file`, then
    /// FERRY_CREDENTIALS: KEY:SECRET[:ACCOUNT] each.
    func allCredentials(fileCredentials: String? = nil) throws -> [Credential] {
        var texts = credentials.map { ($0, "--credentials") }
        for credentialsFile in [fileCredentials, credentialsFile].compactMap({ $0 }) {
            guard let data = FileManager.default.contents(atPath: credentialsFile) else {
                throw ValidationError("cannot read the credentials file \(credentialsFile)")
            }
            for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
                let text = line.trimmingCharacters(in: .whitespaces)
                if !text.isEmpty && !text.hasPrefix("#") { texts.append((text, credentialsFile)) }
            }
        }
        if let variable = ProcessInfo.processInfo.environment["FERRY_CREDENTIALS"] {
            for item in variable.split(whereSeparator: { $0 == "," || $0.isNewline }) {
                let text = item.trimmingCharacters(in: .whitespaces)
                if !text.isEmpty { texts.append((text, "FERRY_CREDENTIALS")) }
            }
        }
        return try texts.map { text, source in
            guard let credential = Self.credential(text) else {
                throw ValidationError(
                    "\(source): credentials are KEY:SECRET[:ACCOUNT], got one without a colon or with an empty part")
            }
            return credential
        }
    }

    /// An access key, its secret, and its account (nil: the node's own).
    struct Credential {
        var key: String
        var secret: String
        var account: String?
    }

    /// `KEY:SECRET` or `KEY:SECRET:ACCOUNT` (ACCOUNT: 12 digits; a secret may hold colons otherwise).
    static func credential(_ text: String) -> Credential? {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var account: String?
        if parts.count >= 3, AccountScope.isAccountId(parts.last!) { account = parts.removeLast() }
        guard parts.count >= 2, !parts[0].isEmpty else { return nil }
        let secret = parts.dropFirst().joined(separator: ":")
        guard !secret.isEmpty else { return nil }
        return Credential(key: parts[0], secret: secret, account: account)
    }

    /// True for addresses only this machine reaches.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}

/// The receipt-handle key: kept in the data directory so handles survive a restart, else per process.
enum ReceiptKey {
    static let fileName = "receipt-handle.key"
    static let bytes = 32

    static func load(dataDirectory: String?) throws -> [UInt8] {
        guard let dataDirectory else { return random() }
        let manager = FileManager.default
        try manager.createDirectory(
            atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = (dataDirectory as NSString).appendingPathComponent(fileName)
        if let existing = manager.contents(atPath: path) {
            guard existing.count == bytes else {
                throw ValidationError(
                    "\(path) holds \(existing.count) bytes, expected \(bytes); remove it to make a new key")
            }
            return [UInt8](existing)
        }
        let key = random()
        guard manager.createFile(atPath: path, contents: Data(key), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(path)")
        }
        return key
    }

    private static func random() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
