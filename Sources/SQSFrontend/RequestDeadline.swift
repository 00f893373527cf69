import HTTPTypes
import NIOCore
import NIOHTTPTypes
import NIOSSL
import Synchronization

/// Closes a connection whose request does not arrive whole within `timeout`: from its first byte to its
/// last (head and body), so that a client trickling a request a byte at a time (which the idle timeout
/// alone never closes) cannot hold a connection and its buffers. The time after a request is read (a
/// long poll, the answer) and between requests (the idle timeout's) does not count, and a connection is
/// never closed while a request it sent is being answered.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// Requests read whole and not yet answered whole.
    private var unanswered = 0

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        // Bytes are watched before the HTTP decoder, after TLS (whose handshake is not a request): a request
        // starts with its first byte.
        let watcher = RequestBytesWatcher(owner: NIOLoopBound(self, eventLoop: context.eventLoop))
        let pipeline = context.pipeline.syncOperations
        if let tls = try? pipeline.handler(type: NIOSSLServerHandler.self) {
            try? pipeline.addHandler(watcher, position: .after(tls))
        } else {
            try? pipeline.addHandler(watcher, position: .first)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    /// Some bytes arrived: unless a deadline runs already, they start one.
    fileprivate func bytesArrived(_ context: ChannelHandlerContext) {
        guard deadline == nil else { return }
        schedule(context)
    }

    private func schedule(_ context: ChannelHandlerContext) {
        schedule(channel: context.channel, on: context.eventLoop)
    }

    private func schedule(channel: any Channel, on eventLoop: any EventLoop) {
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        deadline = eventLoop.scheduleTask(in: timeout) {
            let handler = handler.value
            handler.deadline = nil
            // Answering a request: the client waits for it, not the other way round; look again later.
            if handler.unanswered > 0 {
                handler.schedule(channel: channel, on: eventLoop)
                return
            }
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            // The request is read: what follows is the answer's time, then the idle timeout's.
            unanswered += 1
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { unanswered = max(0, unanswered - 1) }
        context.write(data, promise: promise)
    }
}

/// Tells its `RequestDeadlineHandler` when bytes arrive; passes them on unchanged.
private final class RequestBytesWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let owner: NIOLoopBound<RequestDeadlineHandler>

    init(owner: NIOLoopBound<RequestDeadlineHandler>) { self.owner = owner }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        owner.value.bytesArrived(context)
        context.fireChannelRead(data)
    }
}

/// The bytes of request bodies the node holds at once, over every connection (named bound): a body is
/// counted as it arrives, before its signature can be checked, and until its request is answered. Past the
/// bound a request is refused with ServiceUnavailable (every AWS SDK retries it), so that many slow or
/// unauthenticated uploads cannot exhaust memory.
final class BodyBudget: Sendable {
    let max: Int
    private let held = Atomic<Int>(0)

    init(max: Int) { self.max = max }

    var heldBytes: Int { held.load(ordering: .relaxed) }

    /// Counts `bytes` in; false (counting nothing) when they would pass the bound.
    func reserve(_ bytes: Int) -> Bool {
        let now = held.add(bytes, ordering: .relaxed).newValue
        guard now > max else { return true }
        held.subtract(bytes, ordering: .relaxed)
        return false
    }

    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        held.subtract(bytes, ordering: .relaxed)
    }
}
