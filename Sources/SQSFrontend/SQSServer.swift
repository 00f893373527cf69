import Cluster
import Crypto
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import QueueEngine
import SegmentLog
import ServiceLifecycle
import SigV4

/// Settings of one SQS endpoint.
public struct SQSServerConfiguration: Sendable {
    /// Address to listen on; default `127.0.0.1`.
    public var host = "127.0.0.1"
    /// Port; default 9324 (0 picks a free one).
    public var port = 9324
    /// Access key id → secret. Empty: signatures are not checked.
    public var credentials: [String: String] = [:]
    /// Access key id → account, for keys of another account than `accountId`: such a key sees and
    /// touches only its account's queues (QueueUrl, ARN and ListQueues are per account).
    public var accounts: [String: String] = [:]
    /// Account id in queue URLs and ARNs; default `000000000000`.
    public var accountId = "000000000000"
    /// Region in queue ARNs; default `us-east-1`.
    public var region = "us-east-1"
    /// PEM certificate chain and private key: serve HTTPS when both are set.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// Key that MACs receipt handles (≥ 16 bytes).
    public var receiptHandleKey: [UInt8]
    /// The cluster this node belongs to. Nil: a node alone whose logs live in memory (nothing survives the
    /// process). Every request goes through its shard's Raft log either way.
    public var cluster: ClusterConfiguration?
    /// Called when a shard's log fails (disk full, I/O error): the node can no longer acknowledge anything
    /// and should exit so that it restarts from its log. Default: nothing (requests get ServiceUnavailable).
    public var onClusterFailure: @Sendable (String) -> Void = { _ in }
    /// A connection that sends nothing for this long is closed (named bound; default 60 s): idle
    /// keep-alive connections, and clients that stall mid-request.
    public var idleTimeoutSeconds = 60
    /// The most HTTP connections held open at once (named bound; default 4,096); past it a new one is
    /// closed at once.
    public var connectionsMax = 4_096
    /// A request must arrive whole (head and body) within this long of its first byte, or its connection is
    /// closed (named bound; default 30 s): clients trickling requests cannot hold connections.
    public var requestReadTimeoutSeconds = 30
    /// Bytes of request bodies held at once over every connection, counted as they arrive, before their
    /// signatures are checked (named bound; default 256 MiB); past it a request gets ServiceUnavailable.
    public var bodyBufferBytesMax = 256 * 1024 * 1024
    /// What `/metrics` serves (`ferry serve` bootstraps swift-metrics with its registry); nil: a registry of
    /// the server's own.
    public var metrics: NodeMetrics?
    /// The web console at `/console`: nil picks `read-only` when the node has credentials, `off` without
    /// (a console without authentication must be asked for).
    public var console: ConsoleMode?

    public init(receiptHandleKey: [UInt8]) {
        self.receiptHandleKey = receiptHandleKey
    }
}

/// Errors that stop the server from starting.
public struct SQSServerError: Error, CustomStringConvertible {
    public var description: String
}

/// Builds the SQS endpoint: a Hummingbird application around a `ClusterNode`.
public enum SQSServer {
    /// Makes the application. `onListening` is called with the URL once the socket is bound.
    public static func makeApplication(
        _ configuration: SQSServerConfiguration, logger: Logger,
        onListening: @escaping @Sendable (String) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let cluster =
            configuration.cluster
            ?? .inMemory(
                receiptHandleKey: configuration.receiptHandleKey, accountId: configuration.accountId,
                region: configuration.region)
        let start = ContinuousClock.now
        let node: ClusterNode
        do {
            node = try ClusterNode(
                configuration: cluster, group: MultiThreadedEventLoopGroup.singleton, logger: logger,
                onFatal: configuration.onClusterFailure)
        } catch {
            throw SQSServerError(description: "\(error)")
        }
        logger.info(
            "node \(cluster.nodeID) of \(cluster.nodes.count) opened \(node.hostedShardCount) shards in \(ContinuousClock.now - start)"
        )
        // The shards run from now on (in-process tests drive the router without running services); the
        // service below starts the peer links and stops everything on shutdown.
        node.startShards()
        let host: any QueueService = node
        let handler = SQSHandler(host: host, accountId: configuration.accountId, region: configuration.region)
        let isTLS = configuration.tlsCertificatePath != nil
        let scheme = isTLS ? "https" : "http"
        let limit = ConnectionLimit(max: configuration.connectionsMax)
        let consoleMode = configuration.console ?? (configuration.credentials.isEmpty ? .off : .readOnly)
        // Off, it still answers `/console` (404, saying how to turn it on).
        let console = Console(
            node: node, host: host, mode: consoleMode, credentials: configuration.credentials,
            accounts: configuration.accounts, ownAccount: configuration.accountId, region: configuration.region,
            history: ConsoleHistory())
        let responder = SQSResponder(
            handler: handler,
            verifier: configuration.credentials.isEmpty ? nil : SigV4Verifier(credentials: configuration.credentials),
            clock: SystemWallClock(), scheme: scheme, logger: logger,
            administration: ClusterAdministration(node: node), metrics: configuration.metrics ?? NodeMetrics(),
            connections: limit, accounts: configuration.accounts, console: console,
            bodyBudget: BodyBudget(max: configuration.bodyBufferBytesMax))
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [
                limit.handler(),
                RequestDeadlineHandler(timeout: .seconds(Int64(configuration.requestReadTimeoutSeconds))),
            ],
            idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds)))
        let server: HTTPServerBuilder
        if let certificatePath = configuration.tlsCertificatePath {
            guard let keyPath = configuration.tlsKeyPath else {
                throw SQSServerError(description: "--tls-cert needs --tls-key")
            }
            var tls: TLSConfiguration
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map {
                    NIOSSLCertificateSource.certificate($0)
                }
                let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
                tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
                tls.minimumTLSVersion = .tlsv12
            } catch {
                throw SQSServerError(description: "cannot load TLS certificate or key: \(error)")
            }
            server = try .tls(.http1(configuration: http1), tlsConfiguration: tls)
        } else if configuration.tlsKeyPath != nil {
            throw SQSServerError(description: "--tls-key needs --tls-cert")
        } else {
            server = .http1(configuration: http1)
        }
        return Application(
            responder: responder, server: server,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            services: [ClusterNodeService(node: node)]
                + (consoleMode == .off ? [] : [ConsoleSampler(console: console)]),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                await onListening("\(scheme)://\(configuration.host):\(port)")
            },
            logger: logger)
    }
}

/// Samples every queue's sent count for the console's sparklines, every `ConsoleHistory.sampleSeconds`.
struct ConsoleSampler: Service {
    let console: Console

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            // Waits first: a node stopped right after it started is not held up by a read of shards that
            // have no leader yet.
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(ConsoleHistory.sampleSeconds))
                if let summaries = try? await console.node.queueSummaries(
                    .every, limit: Console.Limits.queuesPerShardMax)
                {
                    console.history.record(summaries, at: SystemWallClock().nowMilliseconds())
                }
            }
        }
    }
}

/// Starts the cluster node (shard threads, peer links) and stops it on graceful shutdown.
struct ClusterNodeService: Service {
    let node: ClusterNode

    func run() async throws {
        try await node.start()
        try? await gracefulShutdown()
        await node.shutdown()
    }
}
