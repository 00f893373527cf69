/// What `ferry bench` runs.
public struct BenchConfiguration: Sendable {
    /// Which requests the run makes.
    public enum Workload: String, Sendable, CaseIterable {
        /// Producers only: SendMessage(Batch).
        case produce
        /// Consumers only: ReceiveMessage + DeleteMessageBatch until the queue stays empty.
        case consume
        /// Producers and consumers at once; every acknowledged send must come back.
        case fullCycle = "full-cycle"
    }

    /// Limits of the load generator.
    public enum Limits {
        /// Most producers or consumers (each holds one connection).
        public static let workersMax = 1_024
        /// Largest message body, in bytes.
        public static let messageSizeBytesMax = 1_048_576
        /// Smallest body: room for the sequence tag that the delivery check reads.
        public static let messageSizeBytesMin = 32
        /// Largest response body read, in bytes.
        public static let responseBytesMax = 16 * 1024 * 1024
        /// Most message groups of a FIFO run.
        public static let groupsMax = 100_000
    }

    /// SQS endpoints, e.g. `http://127.0.0.1:9324`; workers are spread over them.
    public var endpoints: [String] = ["http://127.0.0.1:9324"]
    public var workload = Workload.fullCycle
    public var producers = 4
    public var consumers = 4
    /// Messages per send and per receive (1–10).
    public var batchSize = 10
    /// Messages per second all producers together send at most (paced per producer); nil: as fast as
    /// the server answers.
    public var rateMessagesPerSecond: Double?
    public var messageSizeBytes = 256
    public var fifo = false
    /// Message groups of a FIFO run.
    public var groups = 16
    /// ReceiveMessage WaitTimeSeconds (0: short polling).
    public var waitTimeSeconds = 1
    /// Stop producing after this many messages…
    public var messages: Int?
    /// …or after this many seconds.
    public var durationSeconds: Double?
    /// How long consumers go on after producers stop while nothing new arrives.
    public var drainTimeoutSeconds: Double = 10
    /// Queue to use (created if missing); default a new `ferry-bench-<run id>` queue, deleted at the end.
    public var queueName: String?
    public var keepQueue = false
    public var region = "us-east-1"
    public var accessKeyId = "AKIDFERRYBENCH"
    public var secretAccessKey = "ferry-bench"
    /// PEM file of CAs to trust for `https` endpoints (default: the system's).
    public var caBundlePath: String?
    /// Draw a progress line (on a terminal).
    public var showProgress = false

    public init() {}

    /// Checks the configuration; returns a message naming the first problem.
    public func validationError() -> String? {
        if endpoints.isEmpty { return "give at least one --endpoint" }
        for endpoint in endpoints where Endpoint(parsing: endpoint) == nil {
            return "endpoint \(endpoint) is not an http:// or https:// URL"
        }
        if !(0...Limits.workersMax).contains(producers) || !(0...Limits.workersMax).contains(consumers) {
            return "--producers and --consumers must be 0–\(Limits.workersMax)"
        }
        if workload != .consume && producers == 0 { return "workload \(workload.rawValue) needs producers" }
        if let rate = rateMessagesPerSecond, !(rate >= 1 && rate <= 10_000_000) { return "--rate must be 1–10000000" }
        if workload != .produce && consumers == 0 { return "workload \(workload.rawValue) needs consumers" }
        if !(1...10).contains(batchSize) { return "--batch must be 1–10" }
        if !(Limits.messageSizeBytesMin...Limits.messageSizeBytesMax).contains(messageSizeBytes) {
            return "--message-size must be \(Limits.messageSizeBytesMin)–\(Limits.messageSizeBytesMax) bytes"
        }
        if batchSize * messageSizeBytes > Limits.messageSizeBytesMax {
            return "--batch × --message-size must be ≤ 1 MiB"
        }
        if !(1...Limits.groupsMax).contains(groups) { return "--groups must be 1–\(Limits.groupsMax)" }
        if !(0...20).contains(waitTimeSeconds) { return "--wait-time-seconds must be 0–20" }
        if let messages, messages < 1 { return "--messages must be positive" }
        if let durationSeconds, durationSeconds <= 0 { return "--duration must be positive" }
        if drainTimeoutSeconds <= 0 { return "--drain-timeout must be positive" }
        return nil
    }
}

/// A parsed endpoint URL.
public struct Endpoint: Sendable, Equatable {
    public var isTLS: Bool
    public var host: String
    public var port: Int

    public init?(parsing url: String) {
        let rest: Substring
        if url.hasPrefix("http://") {
            isTLS = false
            rest = url.dropFirst(7)
        } else if url.hasPrefix("https://") {
            isTLS = true
            rest = url.dropFirst(8)
        } else {
            return nil
        }
        let authority = rest.prefix { $0 != "/" }
        guard !authority.isEmpty else { return nil }
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let port = Int(authority[authority.index(after: colon)...]), (1...65_535).contains(port) else {
                return nil
            }
            host = String(authority[..<colon])
            self.port = port
        } else {
            host = String(authority)
            port = isTLS ? 443 : 80
        }
        host = host.trimmingCharacters(in: ["[", "]"])
    }

    /// The Host header value.
    public var authority: String {
        let defaultPort = isTLS ? 443 : 80
        let name = host.contains(":") ? "[\(host)]" : host
        return port == defaultPort ? name : "\(name):\(port)"
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
