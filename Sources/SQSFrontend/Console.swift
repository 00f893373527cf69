import Cluster
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Placement
import QueueEngine
import Synchronization

/// Whether a node serves the web console at `/console`, and whether it may start redrives.
public enum ConsoleMode: String, Sendable, CaseIterable {
    case off
    /// Pages and JSON only (the default when the node has credentials).
    case readOnly = "read-only"
    /// Also the dead-letter redrive button (a message move task, as in the AWS console).
    case readWrite = "read-write"
}

/// The web console: server-rendered pages (`/console`, `/console/queues/NAME`, `/console/cluster`) with a
/// small script (`/console/console.js`) that refreshes them from JSON endpoints under `/console/api/`.
/// Nothing is fetched from elsewhere. Every path takes HTTP Basic authentication with an access key id and
/// its secret when the node has credentials; a key sees its account's queues only, and only the node's
/// own account sees the cluster page. A redrive is a POST that needs the `X-Ferry-Console` header (which a
/// page of another origin cannot send without a preflight this server never grants).
struct Console: Sendable {
    enum Limits {
        /// Queues listed per shard.
        static let queuesPerShardMax = 1_000
        /// Messages a peek shows.
        static let peekedMessages = 10
    }

    let node: ClusterNode
    let host: any QueueService
    let mode: ConsoleMode
    /// Access key id → secret; empty: no authentication (the node serves without credentials).
    let credentials: [String: String]
    /// Access key id → account, for keys of another account than the node's own.
    let accounts: [String: String]
    let ownAccount: String
    let region: String
    let history: ConsoleHistory

    /// The answer to a request whose path starts with `/console`.
    func respond(method: HTTPRequest.Method, path: String, authority: String?, headers: HTTPFields, scheme: String)
        async -> Response
    {
        let bare = String(path.prefix { $0 != "?" })
        guard mode != .off else { return Self.text(.notFound, "The console is off on this node (--console).") }
        switch bare {
        case "/console/console.js": return Self.asset(ConsoleAssets.script, type: "text/javascript; charset=utf-8")
        case "/console/console.css": return Self.asset(ConsoleAssets.style, type: "text/css; charset=utf-8")
        default: break
        }
        guard let account = authenticate(headers) else {
            var fields = Self.securityHeaders
            fields[.wwwAuthenticate] = "Basic realm=\"Ferry console\", charset=\"UTF-8\""
            fields[.contentType] = "text/plain; charset=utf-8"
            return Response(
                status: .unauthorized, headers: fields,
                body: ResponseBody(byteBuffer: ByteBuffer(string: "The console needs an access key id and secret.\n")))
        }
        let segments = bare.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let view = ConsoleView(account: account, isOperator: account == ownAccount, mode: mode)
        do throws(QueueError) {
            let route = Array(segments.dropFirst())
            let isGet = method == .get || method == .head
            if isGet && route.isEmpty { return Self.html(ConsolePages.queues(try await queueList(view), view)) }
            if isGet && route == ["cluster"] {
                guard view.isOperator else {
                    return Self.text(.forbidden, "Only the node's own account sees the cluster.")
                }
                return Self.html(ConsolePages.cluster(await cluster(), view))
            }
            if isGet && route.count == 2 && route[0] == "queues" {
                let details = try await queue(route[1], view)
                let peeked = try await peek(route[1], view)
                return Self.html(ConsolePages.queue(details, peeked, view))
            }
            guard route.first == "api" else { return Self.text(.notFound, "No such console page.") }
            let api = Array(route.dropFirst())
            switch (isGet, api.count, api.first, api.last) {
            case (true, 1, "queues", _): return Self.json(try await queueList(view).map(\.json))
            case (true, 2, "queues", _): return Self.json(try await queue(api[1], view).json)
            case (true, 3, "queues", "messages"): return Self.json(try await peek(api[1], view).map(ConsolePages.json))
            case (false, 3, "queues", "redrive") where method == .post:
                return try await redrive(api[1], view, authority: authority, headers: headers, scheme: scheme)
            case (true, 1, "cluster", _):
                guard view.isOperator else {
                    return Self.text(.forbidden, "Only the node's own account sees the cluster.")
                }
                return Self.json(await cluster().json)
            default:
                return Self.text(.notFound, "No such console endpoint.")
            }
        } catch {
            let status: HTTPResponse.Status =
                switch error.code {
                case .queueDoesNotExist, .resourceNotFound: .notFound
                case .serviceUnavailable, .requestThrottled: .serviceUnavailable
                case .internalFailure: .internalServerError
                default: .badRequest
                }
            return Self.text(status, "\(error.code.rawValue): \(error.message)")
        }
    }

    /// The account of the Basic credentials given (the node's own without credentials); nil if refused.
    func authenticate(_ headers: HTTPFields) -> String? {
        guard !credentials.isEmpty else { return ownAccount }
        guard let value = headers[.authorization], value.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(value.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        let key = String(text[..<colon])
        let given = Array(text[text.index(after: colon)...].utf8)
        guard let secret = credentials[key] else { return nil }
        // Compare digests, so the time taken does not depend on where the secrets differ.
        guard SHA256.hash(data: given) == SHA256.hash(data: Array(secret.utf8)) else { return nil }
        return accounts[key] ?? ownAccount
    }

    // MARK: Data

    func queueList(_ view: ConsoleView) async throws(QueueError) -> [ConsoleQueue] {
        let scope: SummaryScope = view.account == ownAccount ? .own : .account(view.account)
        let summaries = try await node.queueSummaries(scope, limit: Limits.queuesPerShardMax)
        var sources: [String: [String]] = [:]
        for summary in summaries {
            guard let arn = summary.deadLetterTargetArn, let target = bareName(ofArn: arn, view) else { continue }
            sources[target, default: []].append(String(AccountScope.bare(summary.name)))
        }
        return summaries.map { summary in
            let name = String(AccountScope.bare(summary.name))
            return ConsoleQueue(
                name: name, summary: summary,
                deadLetterQueue: summary.deadLetterTargetArn.flatMap { bareName(ofArn: $0, view) },
                sources: sources[name] ?? [], history: history.rates(of: summary.name))
        }
    }

    func queue(_ name: String, _ view: ConsoleView) async throws(QueueError) -> ConsoleQueueDetails {
        let stored = try storedName(name, view)
        guard let listed = try await queueList(view).first(where: { $0.name == name }) else {
            throw .queueDoesNotExist()
        }
        let attributes = try await host.query(.queueAttributes(name: stored, names: ["All"]), queue: stored).map
        let tags = try await host.query(.queueTags(name: stored), queue: stored).map
        let arn = QueueEngine.queueArn(stored, region: region, accountId: ownAccount)
        let tasks = try await host.query(.messageMoveTasks(sourceArn: arn, maxResults: 10), queue: stored).moveTasks
        return ConsoleQueueDetails(
            queue: listed, arn: arn, attributes: attributes, tags: tags, moveTasks: tasks,
            canRedrive: view.mode == .readWrite && !listed.sources.isEmpty)
    }

    func peek(_ name: String, _ view: ConsoleView) async throws(QueueError) -> [PeekedMessage] {
        let stored = try storedName(name, view)
        return try await host.query(.peekMessages(name: stored, max: Limits.peekedMessages), queue: stored).peeked
    }

    /// Starts a message move task from the dead-letter queue `name` back to each message's source.
    func redrive(_ name: String, _ view: ConsoleView, authority: String?, headers: HTTPFields, scheme: String)
        async throws(QueueError) -> Response
    {
        guard view.mode == .readWrite else {
            return Self.text(
                .forbidden, "The console is read-only on this node (--console read-write allows redrives).")
        }
        guard headers[.init("X-Ferry-Console")!] == "redrive" else {
            return Self.text(.forbidden, "A redrive needs the X-Ferry-Console header the console's page sends.")
        }
        if let origin = headers[.origin], origin != "\(scheme)://\(authority ?? "")" {
            return Self.text(.forbidden, "A redrive is accepted from the console's own origin only.")
        }
        let stored = try storedName(name, view)
        let arn = QueueEngine.queueArn(stored, region: region, accountId: ownAccount)
        switch await host.apply(
            .startMessageMoveTask(sourceArn: arn, destinationArn: nil, maxNumberOfMessagesPerSecond: nil))
        {
        case .failure(let error): throw error
        case .moveTaskStarted(let handle): return Self.json(["TaskHandle": handle])
        default: throw QueueError(.internalFailure, "Unexpected result.")
        }
    }

    func cluster() async -> ConsoleCluster {
        let metadata = try? await node.readMetadata()
        return ConsoleCluster(
            node: node.configuration.nodeID, metadata: metadata ?? node.knownMetadata,
            replicas: node.replicaStatuses.sorted { $0.shard < $1.shard },
            links: Dictionary(uniqueKeysWithValues: node.peerLinks.map { ($0.node, $0.isUp) }),
            readiness: node.readiness.isReady)
    }

    /// The stored name of the caller's queue `name` (a bare name: no `/`).
    func storedName(_ name: String, _ view: ConsoleView) throws(QueueError) -> String {
        guard !name.isEmpty, !name.contains("/"), let decoded = name.removingPercentEncoding, !decoded.contains("/")
        else { throw .queueDoesNotExist() }
        return AccountScope.name(decoded, account: view.account, ownAccount: ownAccount)
    }

    /// The bare name of a queue ARN of the viewer's account; nil for another account's.
    func bareName(ofArn arn: String, _ view: ConsoleView) -> String? {
        guard AccountScope.account(ofArn: arn).map(String.init) == view.account else { return nil }
        return String(QueueEngine.routingName(ofArn: arn))
    }

    // MARK: Responses

    static let securityHeaders: HTTPFields = {
        var fields = HTTPFields()
        fields[.cacheControl] = "no-store"
        fields[.init("X-Content-Type-Options")!] = "nosniff"
        fields[.init("X-Frame-Options")!] = "DENY"
        fields[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'none'"
        fields[.init("Referrer-Policy")!] = "no-referrer"
        return fields
    }()

    static func html(_ text: String) -> Response {
        var fields = securityHeaders
        fields[.contentType] = "text/html; charset=utf-8"
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func asset(_ text: String, type: String) -> Response {
        var fields = securityHeaders
        fields[.contentType] = type
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ object: Any) -> Response {
        var fields = securityHeaders
        fields[.contentType] = "application/json"
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func text(_ status: HTTPResponse.Status, _ message: String) -> Response {
        var fields = securityHeaders
        fields[.contentType] = "text/plain; charset=utf-8"
        return Response(
            status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: message + "\n")))
    }
}

/// Who is looking, and what the console lets them do.
struct ConsoleView {
    var account: String
    /// The node's own account: may see the cluster page.
    var isOperator: Bool
    var mode: ConsoleMode
}

/// A queue as the queues page lists it.
struct ConsoleQueue {
    var name: String
    var summary: QueueSummary
    /// Its dead-letter queue, and the queues whose dead-letter queue it is (bare names, same account).
    var deadLetterQueue: String?
    var sources: [String]
    /// Messages sent per second over the last samples, oldest first (`ConsoleHistory`).
    var history: [Double]

    var json: [String: Any] {
        var object: [String: Any] = [
            "name": name, "fifo": summary.isFifo, "visible": summary.visible, "inFlight": summary.inFlight,
            "delayed": summary.delayed, "oldestAgeSeconds": summary.oldestMessageAgeSeconds,
            "storedBytes": summary.storedBytes, "sent": summary.sent, "received": summary.received,
            "deleted": summary.deleted, "sources": sources, "history": history,
        ]
        if let deadLetterQueue { object["deadLetterQueue"] = deadLetterQueue }
        if let count = summary.maxReceiveCount { object["maxReceiveCount"] = count }
        return object
    }
}

/// A queue's page: the listing plus attributes, tags and move tasks.
struct ConsoleQueueDetails {
    var queue: ConsoleQueue
    var arn: String
    var attributes: [String: String]
    var tags: [String: String]
    var moveTasks: [MessageMoveTaskInfo]
    var canRedrive: Bool

    var json: [String: Any] {
        [
            "queue": queue.json, "arn": arn, "attributes": attributes, "tags": tags, "canRedrive": canRedrive,
            "moveTasks": moveTasks.map { task -> [String: Any] in
                [
                    "status": task.status, "moved": task.approximateNumberOfMessagesMoved,
                    "toMove": task.approximateNumberOfMessagesToMove, "started": task.startedTimestamp,
                    "failureReason": task.failureReason ?? "",
                ]
            },
        ]
    }
}

/// The cluster page: the configuration and this node's replicas.
struct ConsoleCluster {
    var node: UInt64
    var metadata: ClusterMetadata?
    var replicas: [ReplicaStatus]
    /// Peer links from this node: node → up.
    var links: [UInt64: Bool]
    var readiness: Bool

    var json: [String: Any] {
        var object: [String: Any] = [
            "node": node, "ready": readiness,
            "replicas": replicas.map(ClusterAdministration.json),
            "links": links.map { ["node": $0.key, "up": $0.value] },
        ]
        if let metadata { object["cluster"] = ClusterAdministration.json(metadata) }
        return object
    }
}

/// Recent throughput per queue, for the queues page's sparklines: the node samples every queue's sent
/// count every `sampleSeconds` (while the console is on) and keeps the last `samplesMax` per queue, for at
/// most `queuesMax` queues.
final class ConsoleHistory: Sendable {
    static let sampleSeconds = 5
    static let samplesMax = 60
    static let queuesMax = 10_000

    private struct Sample {
        var milliseconds: Int64
        var sent: UInt64
    }

    private let samples = Mutex<[String: [Sample]]>([:])

    /// Records the sent counts of `summaries` (stored names) at `milliseconds`; forgets queues not in them.
    func record(_ summaries: [QueueSummary], at milliseconds: Int64) {
        samples.withLock { samples in
            var next: [String: [Sample]] = [:]
            for summary in summaries.prefix(Self.queuesMax) {
                var series = samples[summary.name] ?? []
                series.append(Sample(milliseconds: milliseconds, sent: summary.sent))
                if series.count > Self.samplesMax + 1 { series.removeFirst(series.count - Self.samplesMax - 1) }
                next[summary.name] = series
            }
            samples = next
        }
    }

    /// Messages sent per second between consecutive samples of `name`, oldest first (a count that went
    /// down — another replica answered, or one restarted — counts as 0).
    func rates(of name: String) -> [Double] {
        samples.withLock { samples in
            guard let series = samples[name], series.count > 1 else { return [] }
            return zip(series, series.dropFirst()).map { earlier, later in
                let seconds = Double(max(1, later.milliseconds - earlier.milliseconds)) / 1000
                return later.sent >= earlier.sent ? Double(later.sent - earlier.sent) / seconds : 0
            }
        }
    }
}
