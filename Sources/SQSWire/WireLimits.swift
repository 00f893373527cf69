/// Limits of the wire codecs, in one place. The caller caps the body size before decoding.
public enum WireLimits {
    /// Deepest nesting of JSON arrays and objects accepted (the top-level container is depth 1).
    /// SQS requests nest at most 4 deep (batch entry → message attributes → value → list).
    public static let nestingDepthMax = 64
    /// Largest index accepted in a flattened Query list or map (`AttributeName.N`, `Tag.N.Key`); indexes are 1-based.
    public static let flattenedIndexMax = 1000
    /// Most name/value pairs accepted in one Query request (body and URL query string each).
    public static let parameterCountMax = 2000
}
