import Histogram
import SQSWire
import Synchronization

/// Latency percentiles of one request type, in milliseconds.
public struct LatencySummary: Sendable, Equatable {
    public var count: UInt64
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
}

/// The result of a run.
public struct BenchReport: Sendable {
    public var workload: BenchConfiguration.Workload
    public var endpoints: [String]
    public var queueUrl: String
    public var batchSize: Int
    public var messageSizeBytes: Int
    public var producers: Int
    public var consumers: Int
    /// Wall time of the whole run, seconds.
    public var durationSeconds: Double
    /// Messages per second of the workload's main measure: acknowledged sends (produce), receives
    /// (consume), or messages sent, received and deleted (full cycle).
    public var messagesPerSecond: Double
    public var produceMessagesPerSecond: Double?
    public var consumeMessagesPerSecond: Double?
    public var delivery: DeliverySummary
    /// Messages received (any run), and deleted.
    public var consumed: Int
    public var deleted: Int
    public var latencies: [RequestType: LatencySummary]
    public var errors: [String: Int]
    public var lostExamples: [Int]
    /// CPU the load generator used, seconds, and as cores (CPU seconds per wall second).
    public var cpuUserSeconds: Double
    public var cpuSystemSeconds: Double
    public var cpuCores: Double
    /// Whether the delivery check applies (full cycle only).
    public var checksDelivery: Bool { workload == .fullCycle }

    init(
        configuration: BenchConfiguration, queueUrl: String, state: BenchState, cpuSeconds: (Double, Double)
    ) {
        let values = state.values.withLock { $0 }
        let now = MonotonicTime.microseconds()
        let start = values.startedAt
        let produceEnd = values.produceEndedAt ?? now
        let consumeEnd = values.lastReceiveAt ?? now
        func seconds(_ from: UInt64, _ to: UInt64) -> Double { Swift.max(1e-6, Double(to &- from) / 1e6) }
        workload = configuration.workload
        endpoints = configuration.endpoints
        self.queueUrl = queueUrl
        batchSize = configuration.batchSize
        messageSizeBytes = configuration.messageSizeBytes
        producers = configuration.workload == .consume ? 0 : configuration.producers
        consumers = configuration.workload == .produce ? 0 : configuration.consumers
        durationSeconds = seconds(start, now)
        delivery = values.checker.summary
        consumed = values.consumed
        deleted = values.deleted
        let produceRate = workload == .consume ? nil : Double(delivery.sent) / seconds(start, produceEnd)
        let consumeRate =
            workload == .produce ? nil : Double(values.consumed) / seconds(values.firstReceiveAt ?? start, consumeEnd)
        produceMessagesPerSecond = produceRate
        consumeMessagesPerSecond = consumeRate
        switch workload {
        case .produce: messagesPerSecond = produceRate ?? 0
        case .consume: messagesPerSecond = consumeRate ?? 0
        case .fullCycle: messagesPerSecond = Double(values.deleted) / seconds(start, Swift.max(consumeEnd, produceEnd))
        }
        latencies = values.histograms.mapValues { histogram in
            func milliseconds(_ value: UInt64) -> Double { Double(value) / 1000 }
            return LatencySummary(
                count: histogram.totalCount, p50: milliseconds(histogram.valueAtPercentile(50)),
                p90: milliseconds(histogram.valueAtPercentile(90)), p99: milliseconds(histogram.valueAtPercentile(99)),
                p999: milliseconds(histogram.valueAtPercentile(99.9)), max: milliseconds(histogram.max))
        }
        errors = values.errors
        lostExamples = values.checker.lostSequences(limit: 10)
        cpuUserSeconds = cpuSeconds.0
        cpuSystemSeconds = cpuSeconds.1
        cpuCores = (cpuSeconds.0 + cpuSeconds.1) / durationSeconds
    }
}
