/// A decoded AWS Query request: the action, the API version and the other parameters as a tree.
public struct QueryRequest: Sendable, Equatable {
    /// The `Action` parameter (`SendMessage`, …), if present.
    public var action: String?
    /// The `Version` parameter (`2012-11-05`), if present.
    public var version: String?
    /// Every other parameter, flattened names folded into lists and objects with the JSON protocol's
    /// member names (see `QueryWireDecoder.decode(pairs:)`). All leaf values are strings.
    public var parameters: WireObject

    /// Creates a request.
    public init(action: String? = nil, version: String? = nil, parameters: WireObject = WireObject()) {
        self.action = action
        self.version = version
        self.parameters = parameters
    }
}

/// Decodes requests of the AWS Query protocol (`application/x-www-form-urlencoded` POST bodies and
/// URL query strings) into a `QueryRequest`.
public enum QueryWireDecoder {
    /// SigV2 parameters, dropped from `QueryRequest.parameters` (SigV4 presigned ones start with `X-Amz-`).
    static let signatureParameterNames: Set<String> = [
        "AWSAccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "Timestamp", "Expires",
    ]

    /// Splits a form-encoded byte string into name/value pairs, in order.
    ///
    /// Pairs are separated by `&`, name and value by the first `=` (a pair without `=` has an empty
    /// value); empty pairs are skipped. `+` decodes to a space and `%XX` to the byte XX.
    /// - Throws: `WireDecodingError` for a bad `%` escape, invalid UTF-8 after decoding, or more than
    ///   `WireLimits.parameterCountMax` pairs.
    public static func parseForm(_ bytes: [UInt8]) throws(WireDecodingError) -> [(name: String, value: String)] {
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(WireDecodingError) in
                var parser = WireFormParser(bytes: buffer)
                return try parser.parsePairs()
            }
        }
        return try result.get()
    }

    /// Splits a form-encoded string (such as a URL query string, without the `?`) into name/value pairs.
    /// - Throws: as `parseForm(_: [UInt8])`.
    public static func parseForm(_ text: String) throws(WireDecodingError) -> [(name: String, value: String)] {
        try parseForm(Array(text.utf8))
    }

    /// Builds a request from decoded pairs (body and query string pairs concatenated; a repeated name
    /// keeps its last value).
    ///
    /// `Action` and `Version` go to their fields; `X-Amz-*` and the SigV2 parameters
    /// (`AWSAccessKeyId`, `Signature`, `SignatureMethod`, `SignatureVersion`, `Timestamp`, `Expires`)
    /// are dropped. The rest are folded as botocore's Query serializer flattens the SQS model
    /// (`sqs-query/2012-11-05/service-2.json`), at the top level and inside batch entries:
    /// - `AttributeName.N`, `MessageAttributeName.N`, `MessageSystemAttributeName.N`, `TagKey.N`,
    ///   `AWSAccountId.N`, `ActionName.N` → string lists `AttributeNames`, `MessageAttributeNames`,
    ///   `MessageSystemAttributeNames`, `TagKeys`, `AWSAccountIds`, `Actions`;
    /// - `Attribute.N.Name/.Value` → object `Attributes`; `Tag.N.Key/.Value` → object `Tags`
    ///   (`tags` for `CreateQueue`, as in the model);
    /// - `MessageAttribute.N.Name` + `MessageAttribute.N.Value.*` → object `MessageAttributes` of
    ///   objects {`StringValue`, `BinaryValue`, `DataType`, `StringListValues`, `BinaryListValues`}
    ///   (`Value.StringListValue.M`, `Value.BinaryListValue.M` are lists); likewise
    ///   `MessageSystemAttribute.N.*` → `MessageSystemAttributes`;
    /// - `SendMessageBatchRequestEntry.N.*`, `DeleteMessageBatchRequestEntry.N.*`,
    ///   `ChangeMessageVisibilityBatchRequestEntry.N.*` → list `Entries` of objects (entries do not nest);
    /// - a list sent empty the botocore way (`AttributeNames=`, `Entries=`) → an empty list;
    /// - any other name → a `.string` member of that name.
    ///
    /// Indexes are 1-based decimals up to `WireLimits.flattenedIndexMax`; elements are ordered by index
    /// and gaps are allowed. Members keep the order in which their names first appear.
    /// - Throws: `WireDecodingError` naming the parameter, for a bad index, a map entry without its
    ///   `Name`/`Key` or `Value`, an unknown field of a map entry, or more than
    ///   `WireLimits.parameterCountMax` pairs.
    public static func decode(pairs: [(name: String, value: String)]) throws(WireDecodingError) -> QueryRequest {
        guard pairs.count <= WireLimits.parameterCountMax else {
            throw WireDecodingError(message: "more than \(WireLimits.parameterCountMax) parameters")
        }
        var request = QueryRequest()
        var kept: [WireQueryParameter] = []
        kept.reserveCapacity(pairs.count)
        for (name, value) in pairs {
            switch name {
            case "Action": request.action = value
            case "Version": request.version = value
            case _ where signatureParameterNames.contains(name) || isPresignParameter(name): continue
            default: kept.append(WireQueryParameter(fullName: name, value: value))
            }
        }
        let flattener = WireQueryFlattener(action: request.action)
        request.parameters = try flattener.structure(from: kept, level: .request)
        return request
    }

    /// Parses a form-encoded body or query string and builds the request from it.
    /// - Throws: as `parseForm(_:)` and `decode(pairs:)`.
    public static func decode(form bytes: [UInt8]) throws(WireDecodingError) -> QueryRequest {
        try decode(pairs: parseForm(bytes))
    }

    /// True for a SigV4 presigned-URL parameter (`X-Amz-Algorithm`, `X-Amz-Signature`, …), any case.
    private static func isPresignParameter(_ name: String) -> Bool {
        let prefix = "x-amz-".utf8
        guard name.utf8.count >= prefix.count else { return false }
        return zip(name.utf8, prefix).allSatisfy { byte, expected in
            let lowered = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 0x20 : byte
            return lowered == expected
        }
    }
}
