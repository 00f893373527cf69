import Testing

@testable import QueueEngine

@Suite("Log entry codec")
struct LoggedCommandTests {
    static var sampleEntries: [LoggedCommand] {
        SampleCommands.all.enumerated().map { index, command in
            LoggedCommand(
                command: command,
                timestampMilliseconds: SampleCommands.timestamps[index % SampleCommands.timestamps.count])
        }
    }

    @Test func everyCommandCaseRoundTrips() throws {
        #expect(Set(SampleCommands.all.map(SampleCommands.tag(of:))) == Set(CommandTag.allCases))
        for command in SampleCommands.all {
            for timestamp in SampleCommands.timestamps {
                let entry = LoggedCommand(command: command, timestampMilliseconds: timestamp)
                let bytes = entry.encoded()
                #expect(bytes.first == LoggedCommand.formatVersion)
                let decoded = try LoggedCommand(decoding: bytes)
                #expect(decoded == entry)
                // Byte for byte: Swift's == also holds for canonically equivalent strings.
                #expect(decoded.encoded() == bytes)
            }
        }
    }

    @Test func workloadCommandsRoundTrip() throws {
        var workload = WorkloadGenerator(seed: 5, configuration: codecTestConfiguration)
        for _ in 0..<3_000 {
            let (command, timestamp) = workload.next()
            let entry = LoggedCommand(command: command, timestampMilliseconds: timestamp)
            #expect(try LoggedCommand(decoding: entry.encoded()) == entry)
        }
    }

    @Test func decodesAnyCollectionOfBytes() throws {
        let entry = Self.sampleEntries[5]
        var bytes: [UInt8] = [0xAA, 0xBB]
        entry.encode(into: &bytes)
        #expect(Array(bytes.prefix(2)) == [0xAA, 0xBB])
        #expect(try LoggedCommand(decoding: bytes.dropFirst(2)) == entry)
        #expect(try LoggedCommand(decoding: bytes.dropFirst(2).lazy.map { $0 }) == entry)
        let fromBuffer = bytes.dropFirst(2).withUnsafeBytes { try? LoggedCommand(decoding: $0) }
        #expect(fromBuffer == entry)
    }

    @Test func everyTruncationThrows() {
        for entry in Self.sampleEntries {
            let bytes = entry.encoded()
            let decodedPrefixes = (0..<bytes.count).filter { (try? LoggedCommand(decoding: bytes.prefix($0))) != nil }
            #expect(decodedPrefixes.isEmpty, "\(entry.command): prefixes \(decodedPrefixes) of \(bytes.count) decoded")
        }
    }

    @Test func malformedBytesThrowTheRightCode() {
        func code(_ bytes: [UInt8]) -> EngineCodecError.Code? {
            do {
                _ = try LoggedCommand(decoding: bytes)
                return nil
            } catch {
                return error.code
            }
        }
        let advance: [UInt8] = [1, 0, CommandTag.advanceTime.rawValue]
        #expect(code(advance) == nil)
        #expect(code(advance + [0]) == .malformed, "trailing byte")
        #expect(code([2, 0, CommandTag.advanceTime.rawValue]) == nil)
        #expect(code([3, 0, CommandTag.advanceTime.rawValue]) == .unsupportedVersion)
        #expect(code([0, 0, CommandTag.advanceTime.rawValue]) == .unsupportedVersion)
        #expect(code([1, 0, 0]) == .malformed, "tag 0")
        #expect(code([1, 0, 99]) == .malformed, "unknown tag")
        #expect(code([1, 0x80, 0x00, CommandTag.advanceTime.rawValue]) == .malformed, "overlong varint")
        #expect(code([1] + Array(repeating: 0xFF, count: 10) + [0x01, 15]) == .malformed, "varint past 64 bits")
        let purge = CommandTag.purgeQueue.rawValue
        #expect(code([1, 0, purge, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x61]) == .truncated, "string longer than the bytes")
        #expect(code([1, 0, purge] + Array(repeating: 0xFF, count: 9) + [0x01]) == .truncated, "length 2^64 - 1")
        #expect(code([1, 0, purge, 2, 0xC3, 0x28]) == .malformed, "invalid UTF-8")
        let send = CommandTag.sendMessages.rawValue
        #expect(code([1, 0, send, 1, 0x71] + [0xFF, 0xFF, 0xFF, 0xFF, 0x07]) == .truncated, "2^31 entries")
        let create = CommandTag.createQueue.rawValue
        let unsorted: [UInt8] = [1, 0, create, 1, 0x71, 2, 1, 0x62, 0, 1, 0x61, 0, 0]
        #expect(code(unsorted) == .malformed, "map keys out of order")
        let duplicate: [UInt8] = [1, 0, create, 1, 0x71, 2, 1, 0x61, 0, 1, 0x61, 0, 0]
        #expect(code(duplicate) == .malformed, "duplicate map key")
        let sorted: [UInt8] = [1, 0, create, 1, 0x71, 2, 1, 0x61, 0, 1, 0x62, 0, 0]
        #expect(code(sorted) == nil)
        let move = CommandTag.startMessageMoveTask.rawValue
        #expect(code([1, 0, move, 0, 2, 0]) == .malformed, "presence flag 2")
    }

    @Test func flippedBytesThrowOrDecodeToTheSameBytes() {
        for seed in CodecSeeds.seeds(defaultCount: 1, salt: 21) {
            print("log entry byte flips: seed \(seed) (replay with FERRY_CODEC_SEED=\(seed))")
            var random = SeededGenerator(seed: seed)
            let encodings = Self.sampleEntries.map { $0.encoded() }
            var decodedCount = 0
            for iteration in 0..<20_000 {
                var bytes = random.pick(encodings)
                for _ in 0..<random.int(1...3) {
                    bytes[random.int(0...(bytes.count - 1))] ^= UInt8.random(in: 1...255, using: &random)
                }
                if random.chance(0.2) { bytes.removeLast(random.int(0...(bytes.count - 1))) }
                // A flip to format 1 reads as that format, and writes back as the current one.
                guard let decoded = try? LoggedCommand(decoding: bytes), bytes.first == LoggedCommand.formatVersion
                else { continue }
                decodedCount += 1
                guard decoded.encoded() == bytes else {
                    Issue.record(
                        "seed \(seed) iteration \(iteration): \(bytes) decoded to a value that encodes differently")
                    return
                }
            }
            print("log entry byte flips: \(decodedCount) of 20000 mutated entries still decoded")
        }
    }

    @Test func randomBytesNeverCrash() {
        for seed in CodecSeeds.seeds(defaultCount: 1, salt: 22) {
            print("log entry random bytes: seed \(seed) (replay with FERRY_CODEC_SEED=\(seed))")
            var random = SeededGenerator(seed: seed)
            for _ in 0..<20_000 {
                var bytes = (0..<random.int(0...48)).map { _ in UInt8.random(in: 0...255, using: &random) }
                if !bytes.isEmpty && random.chance(0.5) { bytes[0] = LoggedCommand.formatVersion }
                if bytes.count > 2 && random.chance(0.5) { bytes[2] = UInt8(random.int(1...15)) }
                // An entry of format 1 reads too, and is written back as the current format.
                if let decoded = try? LoggedCommand(decoding: bytes), bytes.first == LoggedCommand.formatVersion {
                    #expect(decoded.encoded() == bytes)
                }
            }
        }
    }

    /// Prints what encoding and decoding a SendMessageBatch of 10 × 256-byte bodies costs (no assertion:
    /// debug builds are slow).
    @Test func batchEncodingCost() throws {
        let entries = (0..<10).map { index in
            SendMessageEntry(
                id: "entry-\(index)", body: String(repeating: "b", count: 256),
                messageAttributes: ["kind": MessageAttributeValue(dataType: "String", stringValue: "order")])
        }
        let entry = LoggedCommand(
            command: .sendMessages(queueName: "orders", entries: entries, senderId: "AKIDEXAMPLE", isBatch: true),
            timestampMilliseconds: 1_700_000_000_000)
        let rounds = 2_000
        var bytes: [UInt8] = []
        let encodeStart = ContinuousClock.now
        for _ in 0..<rounds { bytes = entry.encoded() }
        let encodeTime = ContinuousClock.now - encodeStart
        var decoded = entry
        let decodeStart = ContinuousClock.now
        for _ in 0..<rounds { decoded = try LoggedCommand(decoding: bytes) }
        let decodeTime = ContinuousClock.now - decodeStart
        #expect(decoded == entry)
        print(
            "SendMessageBatch 10 × 256 B → \(bytes.count) bytes: encode \(microseconds(encodeTime / rounds)) µs, "
                + "decode \(microseconds(decodeTime / rounds)) µs")
    }
}

func microseconds(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    let value = Double(seconds) * 1e6 + Double(attoseconds) / 1e12
    return String(Int(value * 10) / 10) + "." + String(Int(value * 10) % 10)
}

/// Fixed encodings: a change here is a format change, which needs a new format version and a decoder that
/// still reads the old one (logs outlive builds).
@Suite("Log entry format")
struct LoggedCommandFormatTests {
    @Test func encodingsAreStable() {
        #expect(LoggedCommand(command: .advanceTime, timestampMilliseconds: -1).encoded() == [2, 1, 15])
        #expect(
            LoggedCommand(command: .purgeQueue(name: "q"), timestampMilliseconds: 1).encoded() == [2, 2, 4, 1, 0x71])
        // Format 1 reads: the same commands (only a transferred message's fields changed in format 2).
        #expect((try? LoggedCommand(decoding: [1, 2, 4, 1, 0x71]))?.command == .purgeQueue(name: "q"))
        let send = Command.sendMessages(
            queueName: "q",
            entries: [
                SendMessageEntry(
                    id: "a", body: "hi", delaySeconds: 5,
                    messageAttributes: ["n": MessageAttributeValue(dataType: "Number", stringValue: "1")],
                    messageGroupId: "g")
            ], senderId: "s", isBatch: true)
        let expected: [UInt8] =
            [2, 0xD0, 0x0F, 5, 1, 0x71, 1]  // version, timestamp 1000, tag, queue name, one entry
            + [1, 1, 0x61, 2, 0x68, 0x69, 1, 10]  // id "a", body "hi", delay 5
            + [1, 1, 0x6E, 6] + Array("Number".utf8) + [1, 1, 0x31, 0]  // n: Number "1", no binary
            + [0, 1, 1, 0x67, 0]  // no system attributes, group "g", no deduplication id
            + [1, 0x73, 1]  // sender "s", batch
        #expect(LoggedCommand(command: send, timestampMilliseconds: 1_000).encoded() == expected)
    }
}
