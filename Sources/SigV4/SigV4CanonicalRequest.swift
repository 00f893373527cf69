/// The parts of the SigV4 canonical request, computed the way AWS specifies for services other than
/// S3 and the way botocore computes them (IAM guide "Create a canonical request";
/// botocore `SigV4Auth.canonical_request`):
///
///     METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n PayloadHash
enum SigV4CanonicalRequest {
    /// The canonical URI: the raw path with dot segments and empty segments removed (RFC 3986
    /// 5.2.4, and AWS's rule that `//` collapses), then URI-encoded with `/` kept. The raw path is
    /// still percent-encoded, so an encoded character is encoded a second time (`%2D` → `%252D`),
    /// exactly as botocore does with `quote(normalize_url_path(path), safe='/~')`.
    static func uri(rawPath: String) throws(SigV4Error) -> [UInt8] {
        guard rawPath.utf8.count <= SigV4Limits.rawPathBytesMax else {
            throw .incompleteSignature("The request path is longer than \(SigV4Limits.rawPathBytesMax) bytes.")
        }
        let path = Array(rawPath.utf8)
        guard !path.isEmpty else { return [UInt8(ascii: "/")] }
        let slash = UInt8(ascii: "/")
        var kept: [ArraySlice<UInt8>] = []
        for segment in path.split(separator: slash, omittingEmptySubsequences: true) {
            if segment.elementsEqual([UInt8(ascii: ".")]) { continue }
            if segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                _ = kept.popLast()
            } else {
                kept.append(segment)
            }
        }
        var output: [UInt8] = []
        output.reserveCapacity(path.count + 8)
        if path.first == slash { output.append(slash) }
        for (index, segment) in kept.enumerated() {
            if index > 0 { output.append(slash) }
            SigV4PercentEncoding.append(segment, keepingSlash: true, to: &output)
        }
        if path.last == slash, !kept.isEmpty { output.append(slash) }
        return output
    }

    /// The canonical headers: one `name:value\n` line per signed header name, in the order given
    /// (SignedHeaders is sorted by the client). The value is each received value with whitespace
    /// trimmed and inner runs collapsed to one space, repeated headers joined with `,`.
    /// A signed header absent from the request is an incomplete signature.
    static func headers(of request: SigV4Request, signedHeaderNames: [String]) throws(SigV4Error) -> [UInt8] {
        var output: [UInt8] = []
        for name in signedHeaderNames {
            let values = request.headerValues(named: name)
            guard !values.isEmpty else {
                throw .incompleteSignature(
                    "The header '\(SigV4Error.quoted(name.utf8))' is named in SignedHeaders but is not in the request.")
            }
            output.append(contentsOf: name.utf8)
            output.append(UInt8(ascii: ":"))
            for (index, value) in values.enumerated() {
                if index > 0 { output.append(SigV4ASCII.comma) }
                appendCollapsingWhitespace(value.utf8, to: &output)
            }
            output.append(SigV4ASCII.newline)
            guard output.count <= SigV4Limits.canonicalHeadersBytesMax else {
                throw .incompleteSignature(
                    "The signed headers are longer than \(SigV4Limits.canonicalHeadersBytesMax) bytes together.")
            }
        }
        return output
    }

    /// Appends `value` trimmed, with each inner run of whitespace as one space (botocore:
    /// `' '.join(value.split())`).
    private static func appendCollapsingWhitespace(_ value: String.UTF8View, to output: inout [UInt8]) {
        var pendingSpace = false
        var wroteAny = false
        for byte in value {
            if SigV4ASCII.isWhitespace(byte) {
                pendingSpace = wroteAny
            } else {
                if pendingSpace { output.append(SigV4ASCII.space) }
                output.append(byte)
                pendingSpace = false
                wroteAny = true
            }
        }
    }

    /// The canonical request up to and including the newline before the payload hash, which the
    /// caller appends (a presigned request may be tried with two payload hashes).
    static func assembleWithoutPayloadHash(
        method: String,
        uri: [UInt8],
        query: [UInt8],
        headers: [UInt8],
        signedHeaderNames: [String]
    ) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(method.utf8.count + uri.count + query.count + headers.count + 256)
        output.append(contentsOf: method.utf8)
        output.append(SigV4ASCII.newline)
        output.append(contentsOf: uri)
        output.append(SigV4ASCII.newline)
        output.append(contentsOf: query)
        output.append(SigV4ASCII.newline)
        output.append(contentsOf: headers)
        output.append(SigV4ASCII.newline)
        for (index, name) in signedHeaderNames.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ";")) }
            output.append(contentsOf: name.utf8)
        }
        output.append(SigV4ASCII.newline)
        return output
    }
}
