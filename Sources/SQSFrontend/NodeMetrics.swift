import Cluster
import Foundation
import Prometheus
import QueueEngine
import Synchronization

/// What `GET /metrics` serves, in the Prometheus text format: the node's registry (`ferry serve`
/// bootstraps swift-metrics with it, so metrics recorded through swift-metrics elsewhere — the log's
/// persist durations — land here too), with the request metrics the responder records and the gauges
/// read from the node at each scrape. Label sets are bounded: actions and error codes are fixed lists,
/// shards and nodes are the cluster's, and queues are at most `Limits.queueSeriesMax` per shard.
public final class NodeMetrics: Sendable {
    public enum Limits {
        /// Queues per shard whose message counts are exported (the first by name).
        public static let queueSeriesMax = 1_000
    }

    public let registry: PrometheusCollectorRegistry
    /// The per-queue counts exported at the last scrape, by series.
    private let lastCounts = Mutex<[String: UInt64]>([:])
    /// Buckets of the request duration histogram, in seconds.
    static let requestBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2_500), .seconds(5), .seconds(10), .seconds(25),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// One SQS request answered: `action` (the SQS action, or `unknown` when it could not be decoded) and
    /// `outcome` (`ok`, or the AWS error code).
    func requestFinished(action: String, outcome: String, duration: Duration) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "ferry_requests", unitName: "total",
                helpText: "SQS requests answered, by action and outcome (ok or the AWS error code)."),
            labels: [("action", action), ("outcome", outcome)]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "ferry_request_duration", unitName: "seconds",
                helpText: "Time from a request's body read to its answer, by SQS action."),
            labels: [("action", action)], buckets: Self.requestBuckets
        ).record(duration)
    }

    /// The Prometheus text: gauges refreshed from `node` first.
    func scrape(_ node: ClusterNode, openConnections: Int? = nil) async -> [UInt8] {
        func gauge(_ name: String, _ labels: [(String, String)], _ help: String, _ value: Double) {
            registry.makeGauge(
                descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels
            )
            .set(value)
        }
        /// A count the node keeps since it started, exported as a counter: it goes up by what the count
        /// grew since the last scrape (a count that went down — a replica restarted or restored a snapshot —
        /// adds its whole value).
        func counter(_ name: String, _ labels: [(String, String)], _ help: String, _ value: UInt64) {
            let key = "\(name)|" + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
            let grown = lastCounts.withLock { last -> UInt64 in
                defer { last[key] = value }
                return value >= (last[key] ?? 0) ? value - (last[key] ?? 0) : value
            }
            registry.makeCounter(
                descriptor: MetricNameDescriptor(metricName: name, unitName: "total", helpText: help), labels: labels
            )
            .increment(by: Int64(grown))
        }
        for status in node.replicaStatuses {
            let group = [("shard", "\(status.shard)")]
            gauge(
                "ferry_shard_snapshot_bytes", group, "Size of the replica's newest snapshot.",
                Double(status.snapshotBytes))
            gauge(
                "ferry_shard_snapshot_timestamp_seconds", group,
                "Time of the newest command the replica's newest snapshot holds (its age: time() minus this); 0 before the first.",
                Double(status.snapshotTimestampMilliseconds) / 1000)
            gauge(
                "ferry_shard_leader", group, "1 when this node leads the shard (the metadata group is the highest).",
                status.role == "leader" ? 1 : 0)
            gauge("ferry_shard_term", group, "The shard replica's Raft term.", Double(status.term))
            gauge("ferry_shard_commit_index", group, "The replica's commit index.", Double(status.commitIndex))
            gauge("ferry_shard_applied_index", group, "The replica's applied index.", Double(status.appliedIndex))
            gauge(
                "ferry_shard_proposals_pending", group, "Client commands proposed here and not yet applied.",
                Double(status.pendingProposals))
            gauge(
                "ferry_shard_snapshot_index", group, "The log index of the replica's newest snapshot.",
                Double(status.snapshotIndex))
            gauge(
                "ferry_shard_repairing", group, "1 while the replica re-fetches its log from its peers.",
                status.isRepairing ? 1 : 0)
            for follower in status.followers {
                gauge(
                    "ferry_shard_replica_lag_entries", group + [("replica", "\(follower.node)")],
                    "On the shard's leader: entries each other replica is behind the commit index.",
                    Double(status.commitIndex > follower.match ? status.commitIndex - follower.match : 0))
            }
        }
        for link in node.peerLinks {
            gauge(
                "ferry_peer_link_up", [("peer", "\(link.node)")], "1 while the peer link to the node is up.",
                link.isUp ? 1 : 0)
        }
        for led in await node.queueGauges(limit: Limits.queueSeriesMax) {
            let queue = led.summary
            let labels = [("queue", queue.name), ("shard", "\(led.shard)")]
            gauge("ferry_queue_messages_visible", labels, "Messages ready to receive.", Double(queue.visible))
            gauge(
                "ferry_queue_messages_in_flight", labels, "Messages received and not yet deleted.",
                Double(queue.inFlight))
            gauge("ferry_queue_messages_delayed", labels, "Messages whose delay has not ended.", Double(queue.delayed))
            gauge(
                "ferry_queue_stored_bytes", labels, "Bytes of message bodies and attributes held.",
                Double(queue.storedBytes))
            gauge(
                "ferry_queue_oldest_message_age_seconds", labels, "Seconds since the oldest message held was sent.",
                Double(queue.oldestMessageAgeSeconds))
            counter(
                "ferry_queue_messages_sent", labels,
                "Messages sent to the queue, as this node applied them since it started.",
                queue.sent)
            counter(
                "ferry_queue_messages_received", labels,
                "Messages received from the queue (each receive of a message counts), since this node started.",
                queue.received)
            counter(
                "ferry_queue_messages_deleted", labels, "Messages deleted from the queue, since this node started.",
                queue.deleted)
        }
        for link in node.peerCounters {
            let labels = [("peer", "\(link.peer)")]
            counter("ferry_peer_sent_bytes", labels, "Bytes of frames queued to the peer.", UInt64(link.sentBytes))
            counter(
                "ferry_peer_received_bytes", labels, "Bytes of frames received from the peer.",
                UInt64(link.receivedBytes))
            counter(
                "ferry_peer_links_established", labels,
                "Peer links established with the node: the first, then each reconnection.",
                UInt64(link.linksUp))
        }
        if let openConnections {
            gauge("ferry_http_connections_open", [], "Client connections open now.", Double(openConnections))
        }
        let readiness = node.readiness
        gauge("ferry_node_ready", [], "1 when /ready answers 200.", readiness.isReady ? 1 : 0)
        if let resident = Self.residentMemoryBytes() {
            gauge("ferry_process_resident_memory_bytes", [], "Resident memory of the process.", Double(resident))
        }
        return registry.emitToBuffer()
    }

    /// The process's resident set, from `/proc/self/statm` (nil where there is none).
    static func residentMemoryBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
