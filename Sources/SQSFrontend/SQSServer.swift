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
    /// Account id in queue URLs and ARNs; default `000000000000`.
    public var accountId = "000000000000"
    /// Region in queue ARNs; default `us-east-1`.
    public var region = "us-east-1"
    /// PEM certificate chain and private key: serve HTTPS when both are set.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// Key that MACs receipt handles (≥ 16 bytes).
    public var receiptHandleKey: [UInt8]
    /// The cluster this node belongs to (a cluster of one node included). When set, every request goes
    /// through the shard's Raft log; `durability` is then ignored.
    public var cluster: ClusterConfiguration?
    /// Called when a shard's log fails (disk full, I/O error): the node should exit and restart.
    public var onClusterFailure: @Sendable (String) -> Void = { _ in }
    /// Where state is kept on disk without a cluster (one journal); nil keeps it in memory only.
    public var durability: DurabilityConfiguration?
    /// Called when the journal fails (disk full, I/O error): the node can no longer acknowledge anything
    /// and should exit so that it restarts from its log. Default: nothing (requests get ServiceUnavailable).
    public var onJournalFailure: @Sendable (JournalError) -> Void = { _ in }

    public init(receiptHandleKey: [UInt8]) {
        self.receiptHandleKey = receiptHandleKey
    }
}

/// Errors that stop the server from starting.
public struct SQSServerError: Error, CustomStringConvertible {
    public var description: String
}

/// Builds the SQS endpoint: a Hummingbird application around one `QueueHost`.
public enum SQSServer {
    /// Makes the application. `onListening` is called with the URL once the socket is bound.
    public static func makeApplication(
        _ configuration: SQSServerConfiguration, logger: Logger,
        onListening: @escaping @Sendable (String) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let engineConfiguration = QueueEngineConfiguration(
            region: configuration.region, accountId: configuration.accountId,
            receiptHandleKey: configuration.receiptHandleKey)
        var services: [any Service] = []
        let host: any QueueService
        if let cluster = configuration.cluster {
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
            host = node
            services.append(ClusterNodeService(node: node))
        } else if let durability = configuration.durability {
            let start = ContinuousClock.now
            let recovered = try DurableEngine.recover(configuration: engineConfiguration, durability: durability)
            logger.info(
                "recovered state from \(durability.directory)",
                metadata: [
                    "snapshotIndex": "\(recovered.snapshotIndex)", "replayedCommands": "\(recovered.replayedCount)",
                    "lastIndex": "\(recovered.log.lastIndex)", "fsync": "\(durability.syncPolicy)",
                    "duration": "\(ContinuousClock.now - start)",
                ])
            let onFailure = configuration.onJournalFailure
            let failureLogger = logger
            let journal = CommandJournal(log: recovered.log, policy: durability.syncPolicy) { error in
                failureLogger.critical("the command log failed; nothing more can be acknowledged: \(error)")
                onFailure(error)
            }
            journal.start()
            let durableHost = QueueHost(
                engine: recovered.engine, timerLoop: MultiThreadedEventLoopGroup.singleton.any(),
                durability: QueueHost.Durability(
                    journal: journal, directory: durability.directory,
                    snapshotEntriesMin: durability.snapshotEntriesMin, snapshotIndex: recovered.snapshotIndex,
                    fileSystem: durability.fileSystem),
                logger: logger)
            host = durableHost
            services.append(JournalService(journal: journal))
            services.append(TimeAdvanceService(host: durableHost))
        } else {
            let memoryHost = QueueHost(
                engine: QueueEngine(configuration: engineConfiguration),
                timerLoop: MultiThreadedEventLoopGroup.singleton.any(), logger: logger)
            host = memoryHost
            services.append(TimeAdvanceService(host: memoryHost))
        }
        let handler = SQSHandler(host: host, accountId: configuration.accountId, region: configuration.region)
        let isTLS = configuration.tlsCertificatePath != nil
        let scheme = isTLS ? "https" : "http"
        let responder = SQSResponder(
            handler: handler,
            verifier: configuration.credentials.isEmpty ? nil : SigV4Verifier(credentials: configuration.credentials),
            clock: SystemWallClock(), scheme: scheme, logger: logger)
        let server: HTTPServerBuilder
        if let certificatePath = configuration.tlsCertificatePath {
            guard let keyPath = configuration.tlsKeyPath else {
                throw SQSServerError(description: "--tls-cert needs --tls-key")
            }
            let tls: TLSConfiguration
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map {
                    NIOSSLCertificateSource.certificate($0)
                }
                let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
                tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            } catch {
                throw SQSServerError(description: "cannot load TLS certificate or key: \(error)")
            }
            server = try .tls(.http1(), tlsConfiguration: tls)
        } else if configuration.tlsKeyPath != nil {
            throw SQSServerError(description: "--tls-key needs --tls-cert")
        } else {
            server = .http1()
        }
        return Application(
            responder: responder, server: server,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            services: services,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                await onListening("\(scheme)://\(configuration.host):\(port)")
            },
            logger: logger)
    }
}

/// Owns the journal's writer thread: on graceful shutdown, writes and syncs what is pending and stops it.
struct JournalService: Service {
    let journal: CommandJournal

    func run() async throws {
        try? await gracefulShutdown()
        journal.stop()
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

/// Advances engine time every second until graceful shutdown.
struct TimeAdvanceService: Service {
    let host: QueueHost

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await host.runTimeAdvance()
        }
    }
}
