import Testing

@testable import SQSWire

@Suite("JSON fuzzing")
struct JSONWireFuzzTests {
    static let inputCount = 20_000

    /// Bytes that steer a parser into its interesting branches.
    static let alphabet: [UInt8] =
        Array(#"{}[]:,"\ u0123456789abcdefABCDEF+-.eEtrufalsn"#.utf8)
        + [0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xA9, 0xE2, 0xED, 0xF0, 0xF4, 0xFF]

    static let samples: [[UInt8]] = [
        Array(wireSampleBatchJSON.utf8),
        Array(#"{"QueueUrl":"q","MaxNumberOfMessages":10,"MessageAttributeNames":["All"],"WaitTimeSeconds":20}"#.utf8),
        Array(#"["\ud83d\ude00",-0.5e-3,1E+9,true,false,null,{"a":[{}]},"\u00e9\n"]"#.utf8),
    ]

    @Test func randomAndMutatedInputsNeverCrash() throws {
        let seed = WireFuzzGenerator.seed()
        print("JSON fuzz seed: \(seed) (replay with WIRE_FUZZ_SEED=\(seed))")
        var generator = WireFuzzGenerator(state: seed)
        var accepted = 0
        for iteration in 0..<Self.inputCount {
            let input = Self.makeInput(iteration: iteration, using: &generator)
            guard let value = try? JSONWireDecoder.decode(input) else { continue }
            accepted += 1
            // Whatever is accepted must survive a round trip.
            let reencoded = JSONWireEncoder.encode(value)
            #expect(try JSONWireDecoder.decode(reencoded) == value, "seed \(seed), iteration \(iteration)")
        }
        print("JSON fuzz: \(accepted) of \(Self.inputCount) inputs were valid JSON")
    }

    @Test func randomValuesRoundTrip() throws {
        let seed = WireFuzzGenerator.seed()
        print("JSON round-trip seed: \(seed) (replay with WIRE_FUZZ_SEED=\(seed))")
        var generator = WireFuzzGenerator(state: seed)
        for iteration in 0..<2_000 {
            let value = Self.randomValue(depth: 0, using: &generator)
            let bytes = JSONWireEncoder.encode(value)
            let decoded = try JSONWireDecoder.decode(bytes)
            #expect(decoded == value, "seed \(seed), iteration \(iteration)")
            // Every strict prefix of an object or array is malformed.
            if case .object = value {
                let cut = Int.random(in: 0..<bytes.count, using: &generator)
                #expect(throws: WireDecodingError.self) { try JSONWireDecoder.decode(bytes[0..<cut]) }
            }
        }
    }

    private static func makeInput(iteration: Int, using generator: inout WireFuzzGenerator) -> [UInt8] {
        switch iteration % 4 {
        case 0:
            let length = Int.random(in: 0...64, using: &generator)
            return (0..<length).map { _ in alphabet.randomElement(using: &generator) ?? 0 }
        case 1:
            let sample = samples.randomElement(using: &generator) ?? []
            return Array(sample.prefix(Int.random(in: 0...sample.count, using: &generator)))
        default:
            var bytes = samples.randomElement(using: &generator) ?? []
            for _ in 0..<Int.random(in: 1...4, using: &generator) where !bytes.isEmpty {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                let byte = alphabet.randomElement(using: &generator) ?? 0
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[position] = byte
                case 1: bytes.insert(byte, at: position)
                default: bytes.remove(at: position)
                }
            }
            return bytes
        }
    }

    private static func randomValue(depth: Int, using generator: inout WireFuzzGenerator) -> WireValue {
        let choice = Int.random(in: 0..<(depth < 4 ? 8 : 6), using: &generator)
        switch choice {
        case 0: return .string(randomString(using: &generator))
        case 1:
            return .integer(
                Int64.random(in: .min ... .max, using: &generator) >> Int64.random(in: 0...63, using: &generator))
        case 2:
            let double = Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &generator))
            return double.isFinite ? .double(double) : .double(Double.random(in: -1e6...1e6, using: &generator))
        case 3: return .boolean(Bool.random(using: &generator))
        case 4: return .null
        case 5: return .string("")
        case 6:
            let count = Int.random(in: 0...4, using: &generator)
            return .list((0..<count).map { _ in randomValue(depth: depth + 1, using: &generator) })
        default:
            var object = WireObject()
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                object[randomString(using: &generator)] = randomValue(depth: depth + 1, using: &generator)
            }
            return .object(object)
        }
    }

    private static func randomString(using generator: inout WireFuzzGenerator) -> String {
        let pool: [Unicode.Scalar] = [
            "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{0}", "\u{1F}",
            "\u{7F}", "é", "€", "\u{FFFF}", "😀", "\u{10FFFF}", "<", "&",
        ]
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...12, using: &generator) {
            scalars.append(pool.randomElement(using: &generator) ?? "a")
        }
        return String(scalars)
    }
}
