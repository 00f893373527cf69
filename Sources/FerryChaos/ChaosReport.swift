import Foundation
import SQSWire

/// What a chaos run ends with: its settings, the faults as they happened, the checker's verdict and the
/// history (for the report).
public struct ChaosSummary: Sendable {
    public var seed: UInt64
    public var nodes: Int
    public var durationSeconds: Int
    public var faults: [ChaosFault]
    public var verdict: ChaosChecker.Verdict
    public var history: [ChaosOperation]
    public var historyPath: String
    public var reportPath: String?

    public init(
        seed: UInt64, nodes: Int, durationSeconds: Int, faults: [ChaosFault], verdict: ChaosChecker.Verdict,
        history: [ChaosOperation], historyPath: String, reportPath: String?
    ) {
        self.seed = seed
        self.nodes = nodes
        self.durationSeconds = durationSeconds
        self.faults = faults
        self.verdict = verdict
        self.history = history
        self.historyPath = historyPath
        self.reportPath = reportPath
    }

    /// `kill 2, pause 1, …` (kinds in their declared order).
    public var faultCounts: String { ChaosSchedule(faults: faults).counts }

    /// Requests by outcome (faults excluded).
    public var requests: (total: Int, failed: Int, unknown: Int) {
        var total = 0
        var failed = 0
        var unknown = 0
        for operation in history where operation.action != .fault {
            total += 1
            if operation.outcome == .failed { failed += 1 }
            if operation.outcome == .unknown { unknown += 1 }
        }
        return (total, failed, unknown)
    }

    public var textLines: [String] {
        var lines = faults.map { fault in
            String(
                format: "fault %7.1f–%7.1f s  %@", Double(fault.startMs) / 1_000, Double(fault.endMs) / 1_000,
                fault.summary)
        }
        let requests = self.requests
        lines.append(
            "requests \(requests.total) (failed \(requests.failed), unknown \(requests.unknown)); history \(historyPath)"
                + (reportPath.map { "; report \($0)" } ?? ""))
        for (name, items) in verdict.problems where !items.isEmpty {
            lines.append("\(name) (\(items.count)):")
            lines += items.prefix(20).map { "  \($0)" }
        }
        return lines
    }

    public var json: String {
        let requests = self.requests
        let object: [String: Any] = [
            "seed": seed, "nodes": nodes, "duration_seconds": durationSeconds, "valid": verdict.isValid,
            "acknowledged": verdict.acknowledged, "lost": verdict.lost.count, "unexpected": verdict.unexpected.count,
            "duplicated": verdict.duplicated, "mismatched": verdict.mismatched.count,
            "fifo_violations": verdict.fifoViolations.count, "early_dead_letters": verdict.earlyDeadLetters.count,
            "unknown": verdict.unknown, "requests": requests.total, "failed": requests.failed,
            "faults": faults.map { fault -> [String: Any] in
                var entry: [String: Any] = [
                    "kind": fault.kind.rawValue, "variant": fault.variant.rawValue, "nodes": fault.nodes,
                    "start_ms": fault.startMs, "end_ms": fault.endMs, "summary": fault.summary,
                ]
                if let offset = fault.clockOffsetSeconds { entry["clock_offset_seconds"] = offset }
                if let rate = fault.clockRate { entry["clock_rate"] = rate }
                if let repeats = fault.repeats { entry["repeats"] = repeats }
                return entry
            },
            "problems": Dictionary(uniqueKeysWithValues: verdict.problems.map { ($0.0, $0.1) }),
            "history": historyPath, "report": reportPath ?? NSNull(),
            "line": verdict.line(faults: faultCounts),
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

extension ChaosChecker.Verdict {
    /// The lists that make a run invalid, by name.
    public var problems: [(String, [String])] {
        [
            ("lost", lost), ("unexpected", unexpected), ("mismatched", mismatched), ("fifo-violations", fifoViolations),
            ("early-dead-letters", earlyDeadLetters), ("nodes-down", nodesDown),
        ]
    }
}

/// The run as one self-contained HTML page: throughput and send latency per second with each fault's
/// window shaded, availability per node, and the checker's tables. No script and nothing fetched.
public enum ChaosReport {
    /// Per second of the run: requests answered ok, failed or unknown, and send latencies (ms).
    struct Second {
        var ok = 0
        var failed = 0
        var unknown = 0
        var sendLatencies: [Int64] = []
        var okByNode: [Int: Int] = [:]
        var badByNode: [Int: Int] = [:]
    }

    static func seconds(_ history: [ChaosOperation]) -> [Second] {
        let last = history.map(\.endMs).max() ?? 0
        var seconds = Array(repeating: Second(), count: Int(last / 1_000) + 1)
        for operation in history where operation.action != .fault {
            let index = Int(max(0, operation.endMs) / 1_000)
            switch operation.outcome {
            case .ok:
                seconds[index].ok += 1
                seconds[index].okByNode[operation.node, default: 0] += 1
                if operation.action == .send {
                    seconds[index].sendLatencies.append(operation.endMs - operation.startMs)
                }
            case .failed:
                seconds[index].failed += 1
                seconds[index].badByNode[operation.node, default: 0] += 1
            case .unknown:
                seconds[index].unknown += 1
                seconds[index].badByNode[operation.node, default: 0] += 1
            }
        }
        return seconds
    }

    static func percentile(_ values: [Int64], _ fraction: Double) -> Int64? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * fraction + 0.5))]
    }

    static func escape(_ text: String) -> String { MarkupText.escaped(text) }

    static let width = 900.0
    static let plotLeft = 50.0

    /// A line chart of `series` (name, colour, value per second) over the run, faults shaded.
    static func chart(
        title: String, unit: String, series: [(String, String, [Double?])], faults: [ChaosFault], seconds: Int
    ) -> String {
        let height = 220.0
        let top = 24.0
        let bottom = height - 24
        let plotWidth = width - plotLeft - 10
        // The axis ends at a round number (1, 2 or 5 times a power of ten) above the highest value.
        let highest = max(1, series.flatMap { $0.2.compactMap { $0 } }.max() ?? 1)
        let magnitude = pow(10, floor(log10(highest)))
        let maximum = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= highest } ?? highest
        func x(_ second: Double) -> Double { plotLeft + plotWidth * second / Double(max(1, seconds)) }
        func y(_ value: Double) -> Double { bottom - (bottom - top) * value / maximum }
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(Int(width))\" "
            + "height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" "
            + "aria-label=\"\(escape(title))\">"
        svg += "<text x=\"\(plotLeft)\" y=\"14\" class=\"title\">\(escape(title)) (\(escape(unit)))</text>"
        for fault in faults {
            let start = x(Double(fault.startMs) / 1_000)
            let end = max(start + 1, x(Double(fault.endMs) / 1_000))
            svg +=
                "<rect class=\"fault\" x=\"\(format(start))\" y=\"\(top)\" width=\"\(format(end - start))\" "
                + "height=\"\(bottom - top)\"><title>\(escape(fault.summary))</title></rect>"
            // The kind's name where the window is wide enough for it, else its first letter (the window's
            // tooltip names the fault).
            let name = fault.kind.rawValue
            let label = end - start >= Double(name.count) * 6 + 4 ? name : String(name.prefix(1))
            svg +=
                "<text class=\"fault-label\" x=\"\(format(start + 2))\" y=\"\(top + 10)\">"
                + "\(escape(label))</text>"
        }
        for step in 0...5 {
            let value = maximum * Double(step) / 5
            svg +=
                "<line class=\"grid\" x1=\"\(plotLeft)\" x2=\"\(width - 10)\" y1=\"\(format(y(value)))\" "
                + "y2=\"\(format(y(value)))\"/><text class=\"axis\" x=\"\(plotLeft - 4)\" y=\"\(format(y(value) + 4))\" "
                + "text-anchor=\"end\">\(value < 10 && value != value.rounded() ? format(value) : String(Int(value)))</text>"
        }
        let tick = max(10, (seconds / 10 + 9) / 10 * 10)
        for second in stride(from: 0, through: seconds, by: tick) {
            svg +=
                "<text class=\"axis\" x=\"\(format(x(Double(second))))\" y=\"\(height - 8)\" text-anchor=\"middle\">"
                + "\(second) s</text>"
        }
        for (index, (name, colour, values)) in series.enumerated() {
            var path = ""
            var pen = false
            for (second, value) in values.enumerated() {
                guard let value else {
                    pen = false
                    continue
                }
                path += "\(pen ? "L" : "M")\(format(x(Double(second) + 0.5))),\(format(y(value))) "
                pen = true
            }
            svg += "<path class=\"series\" d=\"\(path)\" stroke=\"\(colour)\"><title>\(escape(name))</title></path>"
            svg +=
                "<text class=\"legend\" x=\"\(format(width - 200 + Double(index) * 70))\" y=\"14\" "
                + "fill=\"\(colour)\">\(escape(name))</text>"
        }
        return svg + "</svg>"
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }

    /// One row per node: each second green (all ok), amber (some not), red (none ok), blank (no request).
    static func availability(_ seconds: [Second], nodes: Int) -> String {
        let rowHeight = 16.0
        let height = Double(nodes) * (rowHeight + 4) + 8
        let cell = (width - plotLeft - 10) / Double(max(1, seconds.count))
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"availability\" width=\"\(Int(width))\" "
            + "height=\"\(Int(height))\" role=\"img\" aria-label=\"availability per node\">"
        for node in 1...max(1, nodes) {
            let top = Double(node - 1) * (rowHeight + 4) + 4
            svg += "<text class=\"axis\" x=\"4\" y=\"\(format(top + 12))\">node \(node)</text>"
            for (index, second) in seconds.enumerated() {
                let ok = second.okByNode[node] ?? 0
                let bad = second.badByNode[node] ?? 0
                guard ok + bad > 0 else { continue }
                let colour = bad == 0 ? "#3a9d5d" : ok == 0 ? "#d64545" : "#e0a030"
                svg +=
                    "<rect x=\"\(format(plotLeft + Double(index) * cell))\" y=\"\(format(top))\" "
                    + "width=\"\(format(max(cell, 0.5)))\" height=\"\(rowHeight)\" fill=\"\(colour)\"/>"
            }
        }
        return svg + "</svg>"
    }

    public static func html(summary: ChaosSummary) -> String {
        let seconds = Self.seconds(summary.history)
        let verdict = summary.verdict
        let throughput: [Double?] = seconds.map { Double($0.ok) }
        let errors: [Double?] = seconds.map { Double($0.failed + $0.unknown) }
        let p50: [Double?] = seconds.map { percentile($0.sendLatencies, 0.5).map(Double.init) }
        let p99: [Double?] = seconds.map { percentile($0.sendLatencies, 0.99).map(Double.init) }
        let line = verdict.line(faults: summary.faultCounts)
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>ferry chaos — seed \(summary.seed)</title>
            <style>
            body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
            .verdict { font: 15px monospace; padding: 8px; border-radius: 4px; }
            .valid { background: #e3f4e8; } .invalid { background: #fbe4e4; }
            svg { display: block; margin: 12px 0; }
            .title { font-weight: bold; font-size: 13px; } .axis, .legend, .fault-label { font-size: 11px; }
            .fault { fill: #f3c44a; fill-opacity: 0.25; } .fault-label { fill: #8a6a00; }
            .grid { stroke: #ddd; } .series { fill: none; stroke-width: 1.5; }
            table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
            </style></head><body>
            <h1>ferry chaos — seed \(summary.seed)</h1>
            <p id="verdict" class="verdict \(verdict.isValid ? "valid" : "invalid")">\(escape(line))</p>
            <p>\(summary.nodes) nodes, \(summary.durationSeconds) s under faults; history: \(escape(summary.historyPath))</p>

            """
        page += chart(
            title: "Requests answered per second", unit: "requests/s",
            series: [("ok", "#2a6fdb", throughput), ("failed or unknown", "#d64545", errors)],
            faults: summary.faults, seconds: seconds.count)
        page += chart(
            title: "Send latency", unit: "ms", series: [("p50", "#2a6fdb", p50), ("p99", "#9b3fd6", p99)],
            faults: summary.faults, seconds: seconds.count)
        page += "<h2>Availability per node</h2>" + availability(seconds, nodes: summary.nodes)
        page += "<table id=\"nodes\"><tr><th>node</th><th>requests</th><th>ok</th><th>failed</th><th>unknown</th></tr>"
        for node in 1...max(1, summary.nodes) {
            let operations = summary.history.filter { $0.node == node && $0.action != .fault }
            let ok = operations.filter { $0.outcome == .ok }.count
            let failed = operations.filter { $0.outcome == .failed }.count
            let share = operations.isEmpty ? 0 : Double(ok) * 100 / Double(operations.count)
            page +=
                "<tr><td>\(node)</td><td>\(operations.count)</td><td>\(ok) (\(String(format: "%.1f", share)) %)</td>"
                + "<td>\(failed)</td><td>\(operations.count - ok - failed)</td></tr>"
        }
        page += "</table><h2>Faults</h2><table id=\"faults\"><tr><th>start</th><th>end</th><th>fault</th></tr>"
        for fault in summary.faults {
            page +=
                "<tr><td>\(format(Double(fault.startMs) / 1_000)) s</td><td>\(format(Double(fault.endMs) / 1_000)) s</td>"
                + "<td>\(escape(fault.summary))</td></tr>"
        }
        page += "</table><h2>Checker</h2><table id=\"checker\"><tr><th>check</th><th>count</th></tr>"
        let counts: [(String, Int)] =
            [("acknowledged", verdict.acknowledged)] + verdict.problems.map { ($0.0, $0.1.count) } + [
                ("duplicated (allowed: at-least-once)", verdict.duplicated), ("unknown outcomes", verdict.unknown),
            ]
        for (name, count) in counts { page += "<tr><td>\(escape(name))</td><td>\(count)</td></tr>" }
        page += "</table>"
        for (name, items) in verdict.problems where !items.isEmpty {
            page += "<h3>\(escape(name)) (first \(min(50, items.count)) of \(items.count))</h3><ul>"
            for item in items.prefix(50) { page += "<li>\(escape(item))</li>" }
            page += "</ul>"
        }
        return page + "</body></html>\n"
    }
}
