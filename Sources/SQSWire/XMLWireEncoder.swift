/// Encodes responses of the AWS Query protocol as XML (no `<?xml ?>` declaration).
///
/// A success response is
/// `<{Action}Response xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><{Action}Result>…</{Action}Result>`
/// `<ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></{Action}Response>`.
/// Result members are written in order, flattened as the query-protocol SQS model
/// (`sqs-query/2012-11-05/service-2.json`) names them:
/// - `QueueUrls` / `queueUrls` → repeated `<QueueUrl>`; `Messages` → repeated `<Message>`;
///   `Successful` → repeated `<{Action}ResultEntry>`; `Failed` → repeated `<BatchResultErrorEntry>`;
///   `Results` → repeated `<ListMessageMoveTasksResultEntry>`; `StringListValues` / `BinaryListValues`
///   → repeated `<StringListValue>` / `<BinaryListValue>`; any other list → its elements repeated
///   under the member's own name (every list in the SQS model is flattened);
/// - `Attributes` → repeated `<Attribute><Name>…</Name><Value>…</Value></Attribute>`;
///   `Tags` / `tags` → repeated `<Tag><Key>…</Key><Value>…</Value></Tag>`;
///   `MessageAttributes` / `MessageSystemAttributes` → repeated `<MessageAttribute>` /
///   `<MessageSystemAttribute>` with `<Name>` and a `<Value>` structure;
/// - any other object → a nested element (`<Name/>` when empty); a scalar → an element with its text
///   (booleans `true`/`false`, doubles in shortest round-trip form); `null` → nothing.
///
/// Text escapes `&` `<` `>` `"` `'` as entities and CR as `&#xD;` (a parser would otherwise turn CR
/// into LF, and the client's MD5 of the body would not match). Element names come from the caller's
/// code; characters that cannot be in an XML name are dropped from them.
public enum XMLWireEncoder {
    /// The `xmlns` of every success response.
    public static let namespace = "http://queue.amazonaws.com/doc/2012-11-05/"

    /// Encodes a success response. A nil `result` omits the `<{Action}Result>` element (actions without
    /// output); an empty one gives `<{Action}Result/>`.
    public static func encodeResponse(action: String, result: WireObject?, requestId: String) -> [UInt8] {
        let action = WireXMLWriter.elementName(action)
        var writer = WireXMLWriter(action: action)
        writer.output.reserveCapacity(512)
        writer.open(action + "Response", attributes: " xmlns=\"\(namespace)\"")
        if let result {
            writer.structure(action + "Result", result)
        }
        writer.open("ResponseMetadata")
        writer.textElement("RequestId", requestId)
        writer.close("ResponseMetadata")
        writer.close(action + "Response")
        return writer.output
    }

    /// Encodes an error response:
    /// `<ErrorResponse xmlns="…"><Error><Type>…</Type><Code>…</Code><Message>…</Message><Detail/></Error>`
    /// (the same namespace as success responses, as AWS sends)
    /// `<RequestId>…</RequestId></ErrorResponse>`.
    /// - Parameters:
    ///   - type: `Sender` (client fault) or `Receiver` (server fault).
    ///   - code: the Query error code, such as `AWS.SimpleQueueService.NonExistentQueue`.
    public static func encodeError(type: String, code: String, message: String, requestId: String) -> [UInt8] {
        var writer = WireXMLWriter(action: "")
        writer.output.reserveCapacity(256)
        writer.open("ErrorResponse", attributes: " xmlns=\"\(namespace)\"")
        writer.open("Error")
        writer.textElement("Type", type)
        writer.textElement("Code", code)
        writer.textElement("Message", message)
        writer.empty("Detail")
        writer.close("Error")
        writer.textElement("RequestId", requestId)
        writer.close("ErrorResponse")
        return writer.output
    }

    /// `encodeResponse` as a String.
    public static func encodeResponseToString(action: String, result: WireObject?, requestId: String) -> String {
        String(decoding: encodeResponse(action: action, result: result, requestId: requestId), as: UTF8.self)
    }
}
