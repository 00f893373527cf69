/// A request body or query string that is not well-formed for its wire protocol.
///
/// The message names the offending byte offset or parameter; the frontend reports it to the client
/// (as `MalformedQueryString`, `SerializationException`, `InvalidParameterValue` and the like).
public struct WireDecodingError: Error, Equatable, Sendable {
    /// A message a client can act on.
    public var message: String

    /// Creates an error with the given message.
    public init(message: String) {
        self.message = message
    }
}

extension WireDecodingError: CustomStringConvertible {
    /// The message.
    public var description: String { message }
}
