import Testing

@testable import SQSWire

@Suite("Query fuzzing")
struct QueryWireFuzzTests {
    static let inputCount = 5_000

    static let segments = [
        "Attribute", "AttributeName", "Tag", "TagKey", "MessageAttribute", "MessageSystemAttribute", "Name", "Key",
        "Value", "StringValue", "StringListValue", "BinaryListValue", "DataType", "SendMessageBatchRequestEntry",
        "DeleteMessageBatchRequestEntry", "Entries", "AttributeNames", "Id", "QueueUrl", "Action", "X-Amz-Date",
        "1", "2", "10", "1000", "1001", "0", "01", "", "x", "-1",
    ]
    static let formAlphabet: [UInt8] = Array("&=%+.aA19fFgG".utf8) + [0x00, 0x80, 0xC3, 0xA9, 0xFF]

    @Test func randomParametersNeverCrash() {
        let seed = WireFuzzGenerator.seed()
        print("Query fuzz seed: \(seed) (replay with WIRE_FUZZ_SEED=\(seed))")
        var generator = WireFuzzGenerator(state: seed)
        var accepted = 0
        for _ in 0..<Self.inputCount {
            var pairs: [(name: String, value: String)] = []
            for _ in 0..<Int.random(in: 0...12, using: &generator) {
                let name = (0..<Int.random(in: 1...6, using: &generator))
                    .map { _ in Self.segments.randomElement(using: &generator) ?? "" }
                    .joined(separator: ".")
                let value = Bool.random(using: &generator) ? "" : "v\(Int.random(in: 0...9, using: &generator))"
                pairs.append((name: name, value: value))
            }
            if let request = try? QueryWireDecoder.decode(pairs: pairs) {
                accepted += 1
                // Whatever decodes must also encode, as JSON and as XML.
                _ = JSONWireEncoder.encode(.object(request.parameters))
                _ = XMLWireEncoder.encodeResponse(action: "Fuzz", result: request.parameters, requestId: "r")
            }
        }
        print("Query fuzz: \(accepted) of \(Self.inputCount) parameter sets were accepted")
    }

    @Test func randomFormBytesNeverCrash() {
        let seed = WireFuzzGenerator.seed()
        print("Form fuzz seed: \(seed) (replay with WIRE_FUZZ_SEED=\(seed))")
        var generator = WireFuzzGenerator(state: seed)
        for _ in 0..<Self.inputCount {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                Self.formAlphabet.randomElement(using: &generator) ?? 0
            }
            _ = try? QueryWireDecoder.decode(form: bytes)
        }
    }
}
