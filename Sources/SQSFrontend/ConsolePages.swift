import Cluster
import Foundation
import Placement
import QueueEngine
import SQSWire

/// The console's HTML, rendered on the server; `console.js` re-renders the same rows from the JSON
/// endpoints every few seconds. Everything shown is escaped.
enum ConsolePages {
    static func queues(_ queues: [ConsoleQueue], _ view: ConsoleView) -> String {
        let rows = queues.map(queueRow).joined()
        return page(
            "Queues", view, kind: "queues",
            body: """
                <h1>Queues <span class="muted">account \(escape(view.account))</span></h1>
                <table id="queues"><thead><tr><th>Queue</th><th>Type</th><th class="n">Visible</th>\
                <th class="n">In flight</th><th class="n">Delayed</th><th class="n">Oldest</th>\
                <th>Dead-letter queue</th><th>Sources</th><th>Sent per second</th></tr></thead>
                <tbody>\(rows.isEmpty ? emptyRow(9, "No queues yet.") : rows)</tbody></table>
                """)
    }

    static func queueRow(_ queue: ConsoleQueue) -> String {
        let summary = queue.summary
        let link = { (name: String) in "<a href=\"/console/queues/\(escape(name))\">\(escape(name))</a>" }
        return """
            <tr data-queue="\(escape(queue.name))"><td class="name">\(link(queue.name))</td>\
            <td>\(summary.isFifo ? "FIFO" : "Standard")</td><td class="n visible">\(summary.visible)</td>\
            <td class="n in-flight">\(summary.inFlight)</td><td class="n delayed">\(summary.delayed)</td>\
            <td class="n oldest">\(age(summary.oldestMessageAgeSeconds))</td>\
            <td class="dlq">\(queue.deadLetterQueue.map(link) ?? "")</td>\
            <td class="sources">\(queue.sources.map(link).joined(separator: " "))</td>\
            <td class="spark">\(sparkline(queue.history))</td></tr>
            """
    }

    static func queue(_ details: ConsoleQueueDetails, _ peeked: [PeekedMessage], _ view: ConsoleView) -> String {
        let queue = details.queue
        let summary = queue.summary
        let attributes = details.attributes.sorted { $0.key < $1.key }.map {
            "<tr><th>\(escape($0.key))</th><td>\(escape($0.value))</td></tr>"
        }.joined()
        let tags = details.tags.sorted { $0.key < $1.key }.map {
            "<tr><th>\(escape($0.key))</th><td>\(escape($0.value))</td></tr>"
        }.joined()
        let link = { (name: String) in "<a href=\"/console/queues/\(escape(name))\">\(escape(name))</a>" }
        var deadLetter = ""
        if let target = queue.deadLetterQueue {
            deadLetter += "<p>Dead-letter queue: \(link(target)) after \(summary.maxReceiveCount ?? 0) receives.</p>"
        }
        if !queue.sources.isEmpty {
            deadLetter += "<p>Dead-letter queue of \(queue.sources.map(link).joined(separator: ", ")).</p>"
            if details.canRedrive {
                deadLetter += """
                    <p><button id="redrive" type="button">Start DLQ redrive</button> \
                    <span id="redrive-status" class="muted">moves every message back to the queue it came from</span></p>
                    """
            } else if view.mode != .readWrite {
                deadLetter += "<p class=\"muted\">Redrive: the console is read-only on this node.</p>"
            }
        }
        return page(
            queue.name, view, kind: "queue", data: queue.name,
            body: """
                <p><a href="/console">Queues</a> /</p>
                <h1>\(escape(queue.name)) <span class="muted">\(summary.isFifo ? "FIFO" : "Standard")</span></h1>
                <p class="muted">\(escape(details.arn))</p>
                <div class="counts"><div><b id="visible">\(summary.visible)</b>visible</div>\
                <div><b id="in-flight">\(summary.inFlight)</b>in flight</div>\
                <div><b id="delayed">\(summary.delayed)</b>delayed</div>\
                <div><b id="oldest">\(age(summary.oldestMessageAgeSeconds))</b>oldest message</div></div>
                \(deadLetter)
                <h2>Move tasks</h2>
                <table id="move-tasks"><thead><tr><th>Status</th><th class="n">Moved</th><th class="n">To move</th>\
                <th>Started</th><th>Failure</th></tr></thead><tbody>\(moveTaskRows(details.moveTasks))</tbody></table>
                <h2>Messages <button id="peek" type="button">Peek again</button></h2>
                <p class="muted">The oldest \(Console.Limits.peekedMessages), read without changing their visibility.</p>
                <table id="messages"><thead><tr><th>Message id</th><th>Sent</th><th class="n">Receives</th>\
                <th>State</th><th>Body</th></tr></thead><tbody>\(messageRows(peeked))</tbody></table>
                <h2>Attributes</h2><table class="kv">\(attributes)</table>
                <h2>Tags</h2><table class="kv">\(tags.isEmpty ? emptyRow(2, "No tags.") : tags)</table>
                """)
    }

    static func moveTaskRows(_ tasks: [MessageMoveTaskInfo]) -> String {
        guard !tasks.isEmpty else { return emptyRow(5, "No move tasks.") }
        return tasks.map { task in
            """
            <tr><td class="status">\(escape(task.status))</td><td class="n">\(task.approximateNumberOfMessagesMoved)</td>\
            <td class="n">\(task.approximateNumberOfMessagesToMove)</td><td>\(time(task.startedTimestamp))</td>\
            <td>\(escape(task.failureReason ?? ""))</td></tr>
            """
        }.joined()
    }

    static func messageRows(_ messages: [PeekedMessage]) -> String {
        guard !messages.isEmpty else { return emptyRow(5, "No messages.") }
        return messages.map { message in
            let cut = message.body.utf8.count < message.bodyBytes ? " <span class=\"muted\">(cut)</span>" : ""
            return """
                <tr><td class="id">\(escape(message.messageId))</td><td>\(time(message.sentTimestamp))</td>\
                <td class="n">\(message.receiveCount)</td><td>\(escape(message.state))</td>\
                <td><pre class="body">\(escape(message.body))</pre>\(cut)</td></tr>
                """
        }.joined()
    }

    static func json(_ message: PeekedMessage) -> [String: Any] {
        var object: [String: Any] = [
            "messageId": message.messageId, "body": message.body, "bodyBytes": message.bodyBytes,
            "sent": message.sentTimestamp, "receiveCount": message.receiveCount, "state": message.state,
            "attributeNames": message.attributeNames,
        ]
        if let group = message.messageGroupId { object["messageGroupId"] = group }
        return object
    }

    static func cluster(_ cluster: ConsoleCluster, _ view: ConsoleView) -> String {
        page(
            "Cluster", view, kind: "cluster",
            body: """
                <h1>Cluster <span class="muted">seen from node \(cluster.node)</span></h1>
                <h2>Nodes</h2>
                <table id="nodes"><thead><tr><th>Node</th><th>State</th><th>Peer address</th><th>SQS address</th>\
                <th>Link from this node</th></tr></thead><tbody>\(nodeRows(cluster))</tbody></table>
                <h2>Shards</h2>
                <table id="shards"><thead><tr><th>Shard</th><th>Replicas</th><th>Leader</th><th class="n">Term</th>\
                <th class="n">Commit</th><th>Lag (entries)</th><th>Moving</th></tr></thead>\
                <tbody>\(shardRows(cluster))</tbody></table>
                <p class="muted">Leader, term, commit and lag are this node's view of the shards it hosts.</p>
                """)
    }

    static func nodeRows(_ cluster: ConsoleCluster) -> String {
        guard let metadata = cluster.metadata else {
            return "<tr><td>\(cluster.node)</td><td>alone</td><td></td><td></td><td>this node</td></tr>"
        }
        return metadata.nodeList.map { record in
            let link =
                record.id == cluster.node
                ? "this node" : (cluster.links[record.id].map { $0 ? "up" : "down" } ?? "none")
            return """
                <tr><td>\(record.id)</td><td>\(escape(record.state.rawValue))</td><td>\(escape(record.peerAddress))</td>\
                <td>\(escape(record.sqsAddress))</td><td class="\(link == "down" ? "bad" : "")">\(link)</td></tr>
                """
        }.joined()
    }

    static func shardRows(_ cluster: ConsoleCluster) -> String {
        let statuses = Dictionary(cluster.replicas.map { ($0.shard, $0) }, uniquingKeysWith: { first, _ in first })
        let groups: [(id: UInt32, voters: [UInt64], moving: Bool)]
        if let metadata = cluster.metadata {
            groups = metadata.shards.enumerated().map { (UInt32($0.offset), $0.element.voters, $0.element.isMoving) }
        } else {
            groups = cluster.replicas.map { ($0.shard, $0.voters, false) }
        }
        let metadataGroup = cluster.metadata.map { UInt32($0.shardCount) }
        return groups.map { group in
            let status = statuses[group.id]
            let name = group.id == metadataGroup ? "metadata" : "\(group.id)"
            let leader = status.map { $0.leader == 0 ? "none" : "\($0.leader)" } ?? "—"
            let lag =
                status.map { status in
                    status.followers.map {
                        "\($0.node): \(status.commitIndex > $0.match ? status.commitIndex - $0.match : 0)"
                    }
                    .joined(separator: ", ")
                } ?? ""
            return """
                <tr><td>\(name)</td><td>\(group.voters.map(String.init).joined(separator: ", "))</td>\
                <td class="\(leader == "none" ? "bad" : "")">\(leader)</td><td class="n">\(status.map { "\($0.term)" } ?? "")</td>\
                <td class="n">\(status.map { "\($0.commitIndex)" } ?? "")</td><td>\(lag)</td>\
                <td>\(group.moving ? "moving" : "")</td></tr>
                """
        }.joined()
    }

    // MARK: Pieces

    static func page(_ title: String, _ view: ConsoleView, kind: String, data: String = "", body: String) -> String {
        let cluster = view.isOperator ? "<a href=\"/console/cluster\">Cluster</a>" : ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
            <title>\(escape(title)) · Ferry</title><link rel="stylesheet" href="/console/console.css"></head>
            <body data-page="\(kind)" data-name="\(escape(data))" data-write="\(view.mode == .readWrite)">
            <header><b>Ferry</b><nav><a href="/console">Queues</a>\(cluster)</nav>\
            <span id="updated" class="muted"></span></header>
            <main>\(body)</main>
            <script src="/console/console.js"></script>
            </body></html>
            """
    }

    static func emptyRow(_ columns: Int, _ text: String) -> String {
        "<tr class=\"empty\"><td colspan=\"\(columns)\" class=\"muted\">\(escape(text))</td></tr>"
    }

    /// An SVG polyline of `rates` (oldest first), scaled to its largest value.
    static func sparkline(_ rates: [Double]) -> String {
        let width = 120.0
        let height = 24.0
        guard rates.count > 1 else {
            return
                "<svg class=\"sparkline\" width=\"120\" height=\"24\" role=\"img\" aria-label=\"no samples yet\"></svg>"
        }
        let top = max(rates.max() ?? 0, 1)
        let points = rates.enumerated().map { index, rate in
            let x = Double(index) * width / Double(rates.count - 1)
            let y = height - 1 - rate / top * (height - 2)
            return String(format: "%.1f,%.1f", x, y)
        }.joined(separator: " ")
        let last = String(format: "%.1f", rates.last ?? 0)
        return """
            <svg class="sparkline" width="120" height="24" role="img" aria-label="\(last) sent per second">\
            <polyline points="\(points)"/></svg> <span class="rate">\(last)/s</span>
            """
    }

    static func age(_ seconds: Int64) -> String {
        switch seconds {
        case ..<1: return "—"
        case ..<120: return "\(seconds) s"
        case ..<7_200: return "\(seconds / 60) min"
        case ..<172_800: return "\(seconds / 3_600) h"
        default: return "\(seconds / 86_400) d"
        }
    }

    static func time(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    static func escape(_ text: String) -> String { MarkupText.escaped(text) }
}
