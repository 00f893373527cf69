import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import QueueEngine
import SQSWire
import SigV4

/// The HTTP entry point: reads the body (bounded), tells the protocol apart, verifies the signature,
/// decodes, hands the request to `SQSHandler`, and encodes the answer or the AWS error shape.
public struct SQSResponder: HTTPResponder {
    public typealias Context = BasicRequestContext

    /// Bounds of the HTTP layer.
    public enum Limits {
        /// Largest request body accepted, in bytes: a 1 MiB batch escaped as JSON `\u` sequences or
        /// percent-encoded form data stays below it.
        public static let requestBodyBytesMax = 6 * 1024 * 1024
        /// Access key id reported as SenderId when signatures are not checked and none is given.
        public static let anonymousSenderId = "AIDAANONYMOUS00000000"
    }

    let handler: SQSHandler
    let verifier: SigV4Verifier?
    let clock: any WallClock
    let scheme: String
    let logger: Logger
    /// `Ferry.*` actions (`ClusterAdministration`); nil refuses them as unknown.
    let administration: ClusterAdministration?
    /// Request metrics, and `/metrics`; nil records nothing.
    let metrics: NodeMetrics?
    /// The server's connection count, for `/metrics`.
    let connections: ConnectionLimit?
    /// Access key id → account, for keys of another account than the node's own.
    let accounts: [String: String]
    /// The web console at `/console`; nil: none.
    let console: Console?
    /// Request bodies held at once, over every connection; nil: only the per-request bound.
    let bodyBudget: BodyBudget?

    public init(
        handler: SQSHandler, verifier: SigV4Verifier?, clock: any WallClock, scheme: String, logger: Logger,
        administration: ClusterAdministration? = nil, metrics: NodeMetrics? = nil
    ) {
        self.init(
            handler: handler, verifier: verifier, clock: clock, scheme: scheme, logger: logger,
            administration: administration, metrics: metrics, connections: nil, accounts: [:])
    }

    init(
        handler: SQSHandler, verifier: SigV4Verifier?, clock: any WallClock, scheme: String, logger: Logger,
        administration: ClusterAdministration?, metrics: NodeMetrics?, connections: ConnectionLimit?,
        accounts: [String: String], console: Console? = nil, bodyBudget: BodyBudget? = nil
    ) {
        self.bodyBudget = bodyBudget
        self.accounts = accounts
        self.console = console
        self.handler = handler
        self.verifier = verifier
        self.clock = clock
        self.scheme = scheme
        self.logger = logger
        self.administration = administration
        self.metrics = metrics
        self.connections = connections
    }

    @Sendable public func respond(to request: Request, context: Context) async throws -> Response {
        let requestId = RequestId.next()
        let began = ContinuousClock.now
        let isJSON =
            request.headers[.init("X-Amz-Target")!] != nil
            || (request.headers[.contentType]?.contains("amz-json") ?? false)
        let wireProtocol: WireProtocol = isJSON ? .json : .query
        // A Query request that accepts JSON is answered in JSON, as SQS does.
        let answerProtocol: WireProtocol =
            isJSON || (request.headers[.accept]?.contains("application/json") ?? false) ? .json : .query
        let body: [UInt8]
        // Counted against the node's budget as it arrives, until the request is answered.
        var reserved = 0
        defer { bodyBudget?.release(reserved) }
        do throws(QueueError) {
            var buffer = ByteBuffer()
            do {
                for try await chunk in request.body {
                    guard buffer.readableBytes + chunk.readableBytes <= Limits.requestBodyBytesMax else {
                        throw QueueError(
                            .invalidParameterValue, "The request body exceeds \(Limits.requestBodyBytesMax) bytes.")
                    }
                    if let bodyBudget {
                        guard bodyBudget.reserve(chunk.readableBytes) else {
                            throw QueueError(
                                .serviceUnavailable,
                                "The server holds \(bodyBudget.max) bytes of request bodies already; retry shortly.")
                        }
                        reserved += chunk.readableBytes
                    }
                    buffer.writeImmutableBuffer(chunk)
                }
            } catch let error as QueueError {
                throw error
            } catch {
                throw QueueError(.invalidParameterValue, "The request body could not be read: \(error)")
            }
            body = buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch {
            metrics?.requestFinished(
                action: "unknown", outcome: error.code.rawValue, duration: ContinuousClock.now - began)
            return answerProtocol.error(error, action: nil, requestId: requestId)
        }
        if let console {
            let path = request.head.path ?? "/"
            let bare = path.prefix { $0 != "?" }
            if bare == "/console" || bare.hasPrefix("/console/") {
                return await console.respond(
                    method: request.method, path: path, authority: request.head.authority, headers: request.headers,
                    scheme: scheme)
            }
        }
        if request.method == .get || request.method == .head, let administration {
            if let metrics, (request.head.path ?? "/").prefix(while: { $0 != "?" }) == "/metrics" {
                var headers = HTTPFields()
                headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
                headers[.cacheControl] = "no-store"
                let text = await metrics.scrape(administration.node, openConnections: connections?.openConnections)
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
            }
            if let probe = administration.probe(path: request.head.path ?? "/") { return probe }
        }
        if let target = request.headers[.init("X-Amz-Target")!], target.hasPrefix("Ferry."), let administration {
            return await administer(
                administration, action: String(target.dropFirst(6)), request, body: body,
                requestId: requestId)
        }
        var action = "unknown"
        do throws(QueueError) {
            let decoded = try decode(request, body: body, wireProtocol: wireProtocol)
            action = decoded.action.rawValue
            let result = try await handler.handle(decoded)
            metrics?.requestFinished(action: action, outcome: "ok", duration: ContinuousClock.now - began)
            return answerProtocol.success(result, action: decoded.action, requestId: requestId)
        } catch {
            metrics?.requestFinished(
                action: action, outcome: error.code.rawValue, duration: ContinuousClock.now - began)
            if error.code == .internalFailure {
                logger.error("internal failure", metadata: ["message": "\(error.message)", "request": "\(requestId)"])
            }
            return answerProtocol.error(error, action: nil, requestId: requestId)
        }
    }

    private func decode(_ request: Request, body: [UInt8], wireProtocol: WireProtocol) throws(QueueError) -> SQSRequest
    {
        let target = request.head.path ?? "/"
        let rawPath: Substring
        let rawQuery: Substring
        if let mark = target.firstIndex(of: "?") {
            rawPath = target[..<mark]
            rawQuery = target[target.index(after: mark)...]
        } else {
            rawPath = Substring(target)
            rawQuery = ""
        }
        let authority = request.head.authority ?? "localhost"
        let senderId = try authenticate(request, rawPath: String(rawPath), rawQuery: String(rawQuery), body: body)
        let pathQueue = Self.pathQueue(rawPath)
        let baseURL = "\(scheme)://\(authority)"
        let traceHeader = request.headers[.init("X-Amzn-Trace-Id")!].flatMap { $0.isEmpty ? nil : $0 }
        switch wireProtocol {
        case .json:
            let targetHeader = request.headers[.init("X-Amz-Target")!] ?? ""
            guard targetHeader.hasPrefix("AmazonSQS."),
                let action = SQSAction(rawValue: String(targetHeader.dropFirst(10)))
            else {
                throw QueueError(.invalidAction, "The action \(targetHeader) is not valid for this endpoint.")
            }
            guard request.method == .post else {
                throw QueueError(.invalidParameterValue, "AWS JSON requests must use POST.")
            }
            let value: WireValue
            do {
                value = body.isEmpty ? .object(WireObject()) : try JSONWireDecoder.decode(body)
            } catch {
                throw QueueError(.invalidParameterValue, "The request body is not valid JSON: \(error.message)")
            }
            guard case .object(let parameters) = value else {
                throw QueueError(.invalidParameterValue, "The request body must be a JSON object.")
            }
            try Self.checkEndpoint(action, pathQueue: pathQueue)
            return SQSRequest(
                action: action, parameters: parameters, pathQueue: pathQueue, baseURL: baseURL, senderId: senderId,
                traceHeader: traceHeader, account: accounts[senderId])
        case .query:
            var pairs: [(name: String, value: String)] = []
            do {
                pairs = try QueryWireDecoder.parseForm(Array(rawQuery.utf8))
                if request.method == .post { pairs += try QueryWireDecoder.parseForm(body) }
                let query = try QueryWireDecoder.decode(pairs: pairs)
                guard let actionName = query.action else {
                    if pathQueue != nil {
                        throw QueueError(.unknownOperation, "An unknown operation was requested.")
                    }
                    throw QueueError(.missingAction, "The request must contain the parameter Action.")
                }
                guard let action = SQSAction(rawValue: actionName) else {
                    throw QueueError(.invalidAction, "The action \(actionName) is not valid for this endpoint.")
                }
                try Self.checkEndpoint(action, pathQueue: pathQueue)
                return SQSRequest(
                    action: action, parameters: query.parameters, pathQueue: pathQueue, baseURL: baseURL,
                    senderId: senderId, traceHeader: traceHeader, account: accounts[senderId])
            } catch let error as QueueError {
                throw error
            } catch let error as WireDecodingError {
                throw QueueError(.invalidParameterValue, error.message)
            } catch {
                throw QueueError(.invalidParameterValue, "The request could not be decoded.")
            }
        }
    }

    /// A `Ferry.*` action: authenticated as SQS requests are, answered in JSON.
    private func administer(
        _ administration: ClusterAdministration, action: String, _ request: Request, body: [UInt8], requestId: String
    ) async -> Response {
        do throws(QueueError) {
            guard request.method == .post else {
                throw QueueError(.invalidParameterValue, "AWS JSON requests must use POST.")
            }
            let target = request.head.path ?? "/"
            let mark = target.firstIndex(of: "?") ?? target.endIndex
            let rawQuery = mark == target.endIndex ? "" : String(target[target.index(after: mark)...])
            let key = try authenticate(request, rawPath: String(target[..<mark]), rawQuery: rawQuery, body: body)
            // The cluster is administered with the node's own account's keys, not a tenant's.
            if let account = accounts[key], account != handler.accountId {
                throw QueueError(
                    .accessDenied, "The access key \(key) of account \(account) cannot administer the cluster.")
            }
            let answer = try await administration.handle(action: action, body: body)
            var headers = HTTPFields()
            headers[.contentType] = "application/x-amz-json-1.0"
            headers[.init("x-amzn-RequestId")!] = requestId
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer)))
        } catch {
            return WireProtocol.json.error(error, action: nil, requestId: requestId)
        }
    }

    /// CreateQueue and ListQueues are actions of the service, not of a queue: sent to a queue URL they are
    /// refused as SQS refuses them.
    static func checkEndpoint(_ action: SQSAction, pathQueue: (account: String, name: String)?) throws(QueueError) {
        guard pathQueue != nil, action == .createQueue || action == .listQueues else { return }
        throw QueueError(.invalidAction, "The action \(action.rawValue) is not valid for this endpoint.")
    }

    /// Verifies the SigV4 signature when credentials are configured; returns the sender's access key id.
    private func authenticate(_ request: Request, rawPath: String, rawQuery: String, body: [UInt8]) throws(QueueError)
        -> String
    {
        var headers: [(name: String, value: String)] = []
        if let authority = request.head.authority { headers.append(("host", authority)) }
        for field in request.headers { headers.append((field.name.rawName, field.value)) }
        guard let verifier else {
            return Self.accessKeyId(in: request.headers[.authorization]) ?? Limits.anonymousSenderId
        }
        let signed = SigV4Request(
            method: request.method.rawValue, rawPath: rawPath, rawQuery: rawQuery, headers: headers, body: body)
        switch verifier.verify(signed, nowSeconds: clock.nowMilliseconds() / 1000) {
        case .success(let identity): return identity.accessKeyId
        case .failure(let error):
            throw QueueError(QueueError.Code(rawValue: error.code.rawValue) ?? .signatureDoesNotMatch, error.message)
        }
    }

    /// The access key id in an unverified Authorization header.
    static func accessKeyId(in authorization: String?) -> String? {
        guard let authorization, let range = authorization.range(of: "Credential=") else { return nil }
        let rest = authorization[range.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let key = rest[..<slash]
        return key.isEmpty || key.count > 128 ? nil : String(key)
    }

    /// `/ACCOUNT/NAME` → (ACCOUNT, NAME); anything else → nil.
    static func pathQueue(_ rawPath: Substring) -> (account: String, name: String)? {
        let segments = rawPath.split(separator: "/", omittingEmptySubsequences: true)
        guard segments.count == 2, let account = segments[0].removingPercentEncoding,
            let name = segments[1].removingPercentEncoding
        else { return nil }
        return (account, name)
    }
}

/// Request ids: UUID-formatted, from the system generator (`getrandom`, no file to open per request).
enum RequestId {
    static func next() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next()
        let low = generator.next()
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for index in 0..<16 {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append(UInt8(ascii: "-")) }
            let byte = UInt8(truncatingIfNeeded: (index < 8 ? high : low) >> (UInt64(index % 8) * 8))
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
