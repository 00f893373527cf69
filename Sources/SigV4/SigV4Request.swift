/// What the verifier needs of an HTTP request, as received on the wire.
public struct SigV4Request: Sendable {
    /// The request method as sent: `"POST"`, `"GET"`.
    public var method: String
    /// The request target's path exactly as sent, still percent-encoded, e.g. `"/000000000000/my%2Dqueue"`.
    public var rawPath: String
    /// The part of the request target after `?`, still encoded; `""` if none.
    public var rawQuery: String
    /// The headers as received, in order; names are case-insensitive and a name may repeat.
    public var headers: [(name: String, value: String)]
    /// The raw body bytes, before any form or JSON parsing.
    public var body: [UInt8]

    /// Creates a request from its wire parts.
    public init(
        method: String,
        rawPath: String,
        rawQuery: String = "",
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = []
    ) {
        self.method = method
        self.rawPath = rawPath
        self.rawQuery = rawQuery
        self.headers = headers
        self.body = body
    }

    /// The values of every header named `lowercaseName` (compared case-insensitively), in order.
    func headerValues(named lowercaseName: String) -> [String] {
        headers.compactMap { SigV4ASCII.equalsLowercased($0.name, lowercaseName) ? $0.value : nil }
    }
}
