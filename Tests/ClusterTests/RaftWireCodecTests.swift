import Foundation
import NIOCore
import Raft
import Testing

@testable import Cluster

@Suite struct RaftWireCodecTests {
    static let membership = Membership(voters: [1, 2, 3], outgoingVoters: [1, 2, 4], learners: [5], learnersNext: [4])

    static let samples: [Message] = [
        Message(kind: .vote, from: 1, to: 2, term: 7, logTerm: 6, index: 42),
        Message(
            kind: .append, from: 3, to: 1, term: 9, logTerm: 8, index: 100,
            entries: [
                Entry(term: 9, index: 101, data: Array("send".utf8)),
                Entry(term: 9, index: 102, kind: .membershipChange, data: [1, 1, 0, 2, 4, 0, 0, 0, 0, 0, 0, 0]),
                Entry(term: 9, index: 103),
            ], commit: 99),
        Message(kind: .appendResponse, from: 1, to: 3, term: 9, index: 80, reject: true, rejectHint: 77),
        Message(
            kind: .snapshot, from: 2, to: 3, term: 4,
            snapshot: Snapshot(index: 500, term: 3, membership: membership, data: Array(repeating: 0xAB, count: 3_000))),
        Message(kind: .heartbeat, from: 1, to: 2, term: 2, commit: 10, context: [1, 2, 3, 4, 5, 6, 7, 8]),
        Message(kind: .readIndexResponse, from: 1, to: 2, term: 2, index: 55, context: Array("ctx".utf8)),
    ]

    @Test func everyMessageKindRoundTrips() throws {
        for kind in MessageKind.allCases {
            let message = Message(kind: kind, from: 1, to: 2, term: UInt64(kind.rawValue), index: 3)
            #expect(try RaftWireCodec.decodeMessage(RaftWireCodec.encode(message)) == message)
        }
        for message in Self.samples {
            #expect(try RaftWireCodec.decodeMessage(RaftWireCodec.encode(message)) == message)
        }
    }

    @Test func everyTruncationIsRefused() throws {
        for message in Self.samples {
            let whole = RaftWireCodec.encode(message)
            for length in 0..<whole.readableBytes {
                #expect(throws: RaftWireError.self) {
                    try RaftWireCodec.decodeMessage(whole.getSlice(at: 0, length: length)!)
                }
            }
            var longer = whole
            longer.writeInteger(UInt8(0))
            #expect(throws: RaftWireError.self) { try RaftWireCodec.decodeMessage(longer) }
        }
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        let seed = UInt64(ProcessInfo.processInfo.environment["FERRY_WIRE_SEED"] ?? "") ?? 0xF3_77
        print("RaftWireCodecTests seed \(seed) (FERRY_WIRE_SEED replays)")
        var random = SplitMix64(seed: seed)
        for round in 0..<5_000 {
            var bytes = Array(RaftWireCodec.encode(Self.samples[round % Self.samples.count]).readableBytesView)
            let flips = 1 + Int(random.next() % 4)
            for _ in 0..<flips {
                let position = Int(random.next() % UInt64(bytes.count))
                bytes[position] ^= UInt8(truncatingIfNeeded: random.next() | 1)
            }
            _ = try? RaftWireCodec.decodeMessage(ByteBuffer(bytes: bytes))
        }
    }

    @Test func proposalsAndRejectionsRoundTrip() throws {
        let envelopes = (0..<5).map { index in
            ProposalEnvelope(
                proposer: 2, incarnation: 0xDEAD_BEEF_0000 + UInt64(index), id: UInt64(index),
                sequenceFloor: UInt64(index / 2), timestampMilliseconds: 1_700_000_000_000 + Int64(index),
                command: Array(repeating: UInt8(index), count: index * 10))
        }
        for envelope in envelopes { #expect(try ProposalEnvelope(decoding: envelope.encoded()) == envelope) }
        #expect(try ProposalEnvelope.decodeBatch(ProposalEnvelope.encodeBatch(envelopes)) == envelopes)
        let batch = ProposalEnvelope.encodeBatch(envelopes)
        for length in 0..<batch.readableBytes {
            #expect(throws: RaftWireError.self) {
                try ProposalEnvelope.decodeBatch(batch.getSlice(at: 0, length: length)!)
            }
        }
        let keys = [4, 5, 9].map { RequestKey(proposer: 7, incarnation: 0xABCD, sequence: $0) }
        let rejection = ForwardRejection(keys: keys, leader: 3)
        #expect(try ForwardRejection(decoding: rejection.encoded(), proposer: 7) == rejection)
        #expect(throws: RaftWireError.self) { try ForwardRejection(decoding: ByteBuffer(bytes: [1, 2]), proposer: 7) }
    }

    /// Entries written before request identities (format 1: proposer, id, timestamp, length, command) still
    /// decode, with no incarnation: they always apply and answer no request of this run.
    @Test func formatOneProposalsStillDecode() throws {
        var bytes: [UInt8] = []
        for value in [UInt64(3), 41, UInt64(1_700_000_000_123)] {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        withUnsafeBytes(of: UInt32(3).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += [9, 8, 7]
        let envelope = try ProposalEnvelope(decoding: bytes)
        #expect(
            envelope
                == ProposalEnvelope(proposer: 3, id: 41, timestampMilliseconds: 1_700_000_000_123, command: [9, 8, 7]))
        #expect(envelope.incarnation == 0)
    }
}
