import Foundation
import SQSWire

extension BenchReport {
    /// The report for people.
    public var text: String {
        var lines: [String] = []
        lines.append(
            "ferry bench: \(workload.rawValue), \(producers) producers, \(consumers) consumers, batch \(batchSize), "
                + "\(messageSizeBytes)-byte messages, \(endpoints.joined(separator: " "))")
        lines.append(String(format: "duration            %.2f s", durationSeconds))
        lines.append(String(format: "throughput          %.0f messages/s", messagesPerSecond))
        if let rate = produceMessagesPerSecond {
            lines.append(String(format: "  produce           %.0f messages/s", rate))
        }
        if let rate = consumeMessagesPerSecond {
            lines.append(String(format: "  consume           %.0f messages/s", rate))
        }
        lines.append("sent (acknowledged) \(delivery.sent)")
        lines.append("received            \(consumed)   deleted \(deleted)")
        lines.append("latency (ms)            count      p50      p90      p99    p99.9      max")
        for type in RequestType.allCases {
            guard let latency = latencies[type] else { continue }
            let name = type.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)
            lines.append(
                "  " + name
                    + String(
                        format: " %8llu %8.2f %8.2f %8.2f %8.2f %8.2f", latency.count, latency.p50, latency.p90,
                        latency.p99, latency.p999, latency.max))
        }
        if errors.isEmpty {
            lines.append("errors              none")
        } else {
            lines.append(
                "errors              "
                    + errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        if checksDelivery {
            lines.append(
                "delivery check      lost \(delivery.lost), duplicates \(delivery.duplicates), unexpected \(delivery.unexpected)"
            )
            if delivery.lost > 0 {
                lines.append(
                    "!!! LOST \(delivery.lost) ACKNOWLEDGED MESSAGE(S), e.g. sequences "
                        + lostExamples.map(String.init).joined(separator: ", ") + " !!!")
            }
        }
        lines.append(
            String(
                format: "load generator CPU  %.2f cores (user %.2f s, system %.2f s)", cpuCores, cpuUserSeconds,
                cpuSystemSeconds))
        return lines.joined(separator: "\n")
    }

    /// The report for scripts (`--json`).
    public var json: String {
        var latencyObject = WireObject()
        for type in RequestType.allCases {
            guard let latency = latencies[type] else { continue }
            latencyObject[type.rawValue] = .object([
                "count": .integer(Int64(latency.count)), "p50": .double(latency.p50), "p90": .double(latency.p90),
                "p99": .double(latency.p99), "p99_9": .double(latency.p999), "max": .double(latency.max),
            ])
        }
        var errorObject = WireObject()
        for (code, count) in errors.sorted(by: { $0.key < $1.key }) { errorObject[code] = .integer(Int64(count)) }
        var object: WireObject = [
            "workload": .string(workload.rawValue), "endpoints": .list(endpoints.map { .string($0) }),
            "batch_size": .integer(Int64(batchSize)), "message_size_bytes": .integer(Int64(messageSizeBytes)),
            "producers": .integer(Int64(producers)), "consumers": .integer(Int64(consumers)),
            "duration_seconds": .double(durationSeconds), "messages_per_second": .double(messagesPerSecond),
            "sent": .integer(Int64(delivery.sent)), "received": .integer(Int64(consumed)),
            "deleted": .integer(Int64(deleted)),
        ]
        if let rate = produceMessagesPerSecond { object["produce_messages_per_second"] = .double(rate) }
        if let rate = consumeMessagesPerSecond { object["consume_messages_per_second"] = .double(rate) }
        if checksDelivery {
            object["lost"] = .integer(Int64(delivery.lost))
            object["duplicates"] = .integer(Int64(delivery.duplicates))
            object["unexpected"] = .integer(Int64(delivery.unexpected))
        } else {
            object["lost"] = .null
            object["duplicates"] = .null
        }
        object["latency_ms"] = .object(latencyObject)
        object["errors"] = .object(errorObject)
        object["cpu_cores"] = .double(cpuCores)
        object["cpu_user_seconds"] = .double(cpuUserSeconds)
        object["cpu_system_seconds"] = .double(cpuSystemSeconds)
        return JSONWireEncoder.encodeToString(.object(object))
    }
}
