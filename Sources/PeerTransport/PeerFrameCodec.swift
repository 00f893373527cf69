import NIOCore
import SegmentLog

/// Writes frames in `PeerFrameFormat`.
public struct PeerFrameEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = PeerFrame

    public init() {}

    public func encode(data frame: PeerFrame, out: inout ByteBuffer) {
        out.reserveCapacity(minimumWritableBytes: frame.wireSize)
        let start = out.writerIndex
        out.writeInteger(PeerFrameFormat.magic, endianness: .little)
        out.writeInteger(frame.kind.rawValue)
        out.writeInteger(UInt8(0))
        out.writeInteger(frame.shard, endianness: .little)
        out.writeInteger(UInt32(frame.payload.readableBytes), endianness: .little)
        let headerCRC = out.withUnsafeReadableBytes { bytes in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[(start - out.readerIndex)...]))
        }
        let crc = frame.payload.withUnsafeReadableBytes { CRC32C.checksum($0, continuing: headerCRC) }
        out.writeInteger(crc, endianness: .little)
        out.writeImmutableBuffer(frame.payload)
    }
}

/// Reads frames in `PeerFrameFormat`, refusing any longer than `frameBytesMax` before buffering it, and
/// any whose checksum does not match.
public struct PeerFrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = PeerFrame

    /// The longest payload accepted, in bytes.
    public let frameBytesMax: Int

    public init(frameBytesMax: Int) {
        self.frameBytesMax = frameBytesMax
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try Self.decodeFrame(&buffer, frameBytesMax: frameBytesMax) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        try decode(context: context, buffer: &buffer)
    }

    /// Takes one whole frame off the front of `buffer`, or nothing if it is not all there yet.
    public static func decodeFrame(_ buffer: inout ByteBuffer, frameBytesMax: Int) throws(PeerFrameError)
        -> PeerFrame?
    {
        guard buffer.readableBytes >= PeerFrameFormat.headerSize else { return nil }
        let start = buffer.readerIndex
        let magic = buffer.getInteger(at: start, endianness: .little, as: UInt16.self)!
        guard magic == PeerFrameFormat.magic else { throw .badMagic(magic) }
        let length = Int(buffer.getInteger(at: start + 8, endianness: .little, as: UInt32.self)!)
        guard length <= frameBytesMax else { throw .frameTooLarge(bytes: length, limit: frameBytesMax) }
        guard buffer.readableBytes >= PeerFrameFormat.headerSize + length else { return nil }
        let stored = buffer.getInteger(at: start + 12, endianness: .little, as: UInt32.self)!
        let headerCRC = buffer.withUnsafeReadableBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<12])) }
        let payload = buffer.getSlice(at: start + PeerFrameFormat.headerSize, length: length)!
        let computed = payload.withUnsafeReadableBytes { CRC32C.checksum($0, continuing: headerCRC) }
        guard stored == computed else { throw .checksumMismatch(stored: stored, computed: computed) }
        let rawKind = buffer.getInteger(at: start + 2, as: UInt8.self)!
        guard let kind = PeerFrameKind(rawValue: rawKind) else { throw .unknownKind(rawKind) }
        let shard = buffer.getInteger(at: start + 4, endianness: .little, as: UInt32.self)!
        buffer.moveReaderIndex(forwardBy: PeerFrameFormat.headerSize + length)
        return PeerFrame(kind: kind, shard: shard, payload: payload)
    }
}
