import NIOCore
import NIOEmbedded
import PeerTransport
import Testing

@Suite struct PeerFrameCodecTests {
    private func encoded(_ frames: [PeerFrame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { PeerFrameEncoder().encode(data: frame, out: &buffer) }
        return buffer
    }

    private let sample = [
        PeerFrame(kind: .raft, shard: 7, payload: ByteBuffer(bytes: Array(0..<200))),
        PeerFrame(kind: .ping),
        PeerFrame(kind: .forward, shard: 4_095, payload: ByteBuffer(string: "hello")),
    ]

    @Test func roundTripsThroughAnEmbeddedChannel() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PeerFrameDecoder(frameBytesMax: 1 << 20)))
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(PeerFrameEncoder()))
        for frame in sample { try channel.writeOutbound(frame) }
        var wire = ByteBuffer()
        while var chunk = try channel.readOutbound(as: ByteBuffer.self) { wire.writeBuffer(&chunk) }
        // Feed it back one byte at a time: frames come out whole, in order.
        while let byte = wire.readSlice(length: 1) { try channel.writeInbound(byte) }
        for frame in sample { #expect(try channel.readInbound(as: PeerFrame.self) == frame) }
        #expect(try channel.readInbound(as: PeerFrame.self) == nil)
        _ = try channel.finish()
    }

    @Test func aTruncatedFrameWaitsForTheRest() throws {
        let whole = encoded([sample[0]])
        for length in 0..<whole.readableBytes {
            var partial = whole.getSlice(at: 0, length: length)!
            #expect(try PeerFrameDecoder.decodeFrame(&partial, frameBytesMax: 1 << 20) == nil)
            #expect(partial.readableBytes == length, "nothing consumed")
        }
    }

    @Test func everyFlippedBitIsRefused() throws {
        let whole = encoded([sample[2]])
        for bit in 0..<(whole.readableBytes * 8) {
            var damaged = whole
            let offset = bit / 8
            damaged.setInteger(whole.getInteger(at: offset, as: UInt8.self)! ^ (1 << UInt8(bit % 8)), at: offset)
            do {
                let frame = try PeerFrameDecoder.decodeFrame(&damaged, frameBytesMax: 1 << 20)
                // A flipped length bit may only make the frame look incomplete; never a wrong frame.
                #expect(frame == nil, "bit \(bit) gave \(String(describing: frame))")
            } catch {
                continue
            }
        }
    }

    @Test func anOversizedLengthIsRefusedBeforeBuffering() throws {
        var buffer = encoded([PeerFrame(kind: .raft, payload: ByteBuffer(repeating: 1, count: 2_000))])
        let header = buffer.readSlice(length: PeerFrameFormat.headerSize)!
        var headerOnly = header
        #expect(throws: PeerFrameError.frameTooLarge(bytes: 2_000, limit: 1_000)) {
            try PeerFrameDecoder.decodeFrame(&headerOnly, frameBytesMax: 1_000)
        }
    }

    @Test func badMagicAndUnknownKindsAreRefused() throws {
        var notFerry = ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(throws: PeerFrameError.self) { try PeerFrameDecoder.decodeFrame(&notFerry, frameBytesMax: 1 << 20) }
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PeerFrameDecoder(frameBytesMax: 1 << 20)))
        #expect(throws: PeerFrameError.self) {
            try channel.writeInbound(ByteBuffer(string: String(repeating: "x", count: 32)))
        }
        _ = try? channel.finish()
    }

    @Test func helloRoundTripsAndRefusesGarbage() throws {
        let hello = PeerHello(nodeID: 3, clusterName: "prod-eu")
        #expect(try PeerHello(decoding: hello.encoded()) == hello)
        #expect(throws: PeerFrameError.self) { try PeerHello(decoding: ByteBuffer(bytes: [1, 2, 3])) }
        #expect(throws: PeerFrameError.self) {
            try PeerHello(decoding: PeerHello(nodeID: 0, clusterName: "x").encoded())
        }
        var trailing = hello.encoded()
        trailing.writeInteger(UInt8(9))
        #expect(throws: PeerFrameError.self) { try PeerHello(decoding: trailing) }
        #expect(hello.protocolVersion == PeerHello.currentProtocolVersion)
        // A version-1 hello (no version field) still decodes, as version 1, so the link can refuse it by name.
        var versionOne = ByteBuffer()
        versionOne.writeInteger(UInt64(3), endianness: .little)
        versionOne.writeInteger(UInt8(7))
        versionOne.writeString("prod-eu")
        #expect(try PeerHello(decoding: versionOne).protocolVersion == 1)
        let future = PeerHello(nodeID: 3, clusterName: "prod-eu", protocolVersion: 9)
        #expect(try PeerHello(decoding: future.encoded()).protocolVersion == 9)
    }

    /// The hello carries the cluster's fixed facts; a difference is named fact by fact. The node set is
    /// not one of them (protocol 7): nodes join and leave a running cluster.
    @Test func helloCarriesTheClustersFixedFactsAndNamesEachDifference() throws {
        let key = [UInt8](repeating: 7, count: 32)
        let facts = PeerClusterFacts(shardCount: 8, replicationFactor: 3, clusterKey: key)
        let hello = PeerHello(nodeID: 3, clusterName: "prod-eu", facts: facts)
        #expect(try PeerHello(decoding: hello.encoded()) == hello)
        #expect(hello.encoded().readableBytes == 8 + 1 + 7 + 2 + 14, "no node-set fingerprint")
        #expect(facts.differences(from: facts).isEmpty)
        let other = PeerClusterFacts(shardCount: 4, replicationFactor: 3, clusterKey: [UInt8](repeating: 8, count: 32))
        let differences = facts.differences(from: other)
        #expect(differences == ["shard count: 8 here, 4 there", "cluster key: the cluster.key files differ"])
        #expect(facts.differences(from: .unknown).isEmpty, "a transport without facts (tests) agrees with any")
    }

    /// A hello of protocol 4 to 6 (with the node-set fingerprint those carried) still decodes, so the link
    /// can refuse the older node by its version.
    @Test func aVersion6HelloStillDecodesWithoutItsNodeSet() throws {
        var versionSix = ByteBuffer()
        versionSix.writeInteger(UInt64(3), endianness: .little)
        versionSix.writeInteger(UInt8(7))
        versionSix.writeString("prod-eu")
        versionSix.writeInteger(UInt16(6), endianness: .little)
        versionSix.writeInteger(UInt32(8), endianness: .little)
        versionSix.writeInteger(UInt16(3), endianness: .little)
        versionSix.writeInteger(UInt64(0xDEAD_BEEF), endianness: .little)  // the node set's fingerprint
        versionSix.writeInteger(UInt64(42), endianness: .little)
        let hello = try PeerHello(decoding: versionSix)
        #expect(hello.protocolVersion == 6)
        #expect(hello.facts == PeerClusterFacts(shardCount: 8, replicationFactor: 3, clusterKeyFingerprint: 42))
        #expect(try PeerHello(decoding: hello.encoded()) == hello)
        #expect(hello.encoded().readableBytes == versionSix.readableBytes)
        var truncated = versionSix
        truncated.moveWriterIndex(to: versionSix.writerIndex - 1)
        #expect(throws: PeerFrameError.self) { try PeerHello(decoding: truncated) }
    }
}
