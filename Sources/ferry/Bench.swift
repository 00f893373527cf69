import ArgumentParser
import FerryBench
import Foundation

/// `ferry bench`: drive any SQS endpoint and report throughput, latency and delivery.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load-test an SQS endpoint (Ferry, another SQS-compatible server, or AWS).",
        discussion: """
            Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, the region from AWS_REGION or \
            AWS_DEFAULT_REGION. Exits with status 2 if any acknowledged message was lost.
            """)

    @Option(name: .customLong("endpoint"), help: "SQS endpoint URL; repeat for every node of a cluster.")
    var endpoints: [String] = []

    @Option(help: "produce, consume or full-cycle.")
    var workload = "full-cycle"

    @Option(help: "Producers (one connection each).")
    var producers = 4

    @Option(help: "Consumers (one connection each).")
    var consumers = 4

    @Option(help: "Messages per send and per receive, 1–10.")
    var batch = 10

    @Option(help: "Messages per second the producers send together at most (default: as fast as answered).")
    var rate: Double?

    @Option(help: "Message body size in bytes.")
    var messageSize = 256

    @Flag(help: "Use a FIFO queue.")
    var fifo = false

    @Option(help: "Message groups of a FIFO run.")
    var groups = 16

    @Option(help: "ReceiveMessage WaitTimeSeconds (0 = short polling).")
    var waitTimeSeconds = 1

    @Option(help: "Send this many messages, then stop.")
    var messages: Int?

    @Option(help: "Produce for this many seconds (default 15 when --messages is not given).")
    var duration: Double?

    @Option(help: "Seconds consumers wait for stragglers once producers are done.")
    var drainTimeout: Double = 10

    @Option(help: "Use this queue (created if missing) instead of a new one; it is kept.")
    var queue: String?

    @Flag(help: "Keep the queue the run created.")
    var keepQueue = false

    @Option(help: "PEM bundle of CAs to trust for https endpoints.")
    var caBundle: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var configuration = BenchConfiguration()
        if !endpoints.isEmpty { configuration.endpoints = endpoints }
        guard let workload = BenchConfiguration.Workload(rawValue: workload) else {
            throw ValidationError("--workload must be produce, consume or full-cycle")
        }
        configuration.workload = workload
        configuration.producers = producers
        configuration.consumers = consumers
        configuration.batchSize = batch
        configuration.rateMessagesPerSecond = rate
        configuration.messageSizeBytes = messageSize
        configuration.fifo = fifo
        configuration.groups = groups
        configuration.waitTimeSeconds = waitTimeSeconds
        configuration.messages = messages
        configuration.durationSeconds = duration
        configuration.drainTimeoutSeconds = drainTimeout
        configuration.queueName = queue
        configuration.keepQueue = keepQueue
        configuration.caBundlePath = caBundle
        configuration.region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
        if let key = environment["AWS_ACCESS_KEY_ID"] { configuration.accessKeyId = key }
        if let secret = environment["AWS_SECRET_ACCESS_KEY"] { configuration.secretAccessKey = secret }
        configuration.showProgress = isatty(2) != 0 && !json
        if let problem = configuration.validationError() { throw ValidationError(problem) }
        let report = try await BenchRunner(configuration: configuration).run()
        print(json ? report.json : report.text)
        if report.checksDelivery && report.delivery.lost > 0 { throw ExitCode(2) }
    }
}
