import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Closes a connection whose request does not arrive whole within `timeout`: from its first byte to its
/// last (head and body), so that a client trickling a request a byte at a time (which the idle timeout
/// alone never closes) cannot hold a connection and its buffers. The time after a request is read (a
/// long poll, the answer) and between requests (the idle timeout's) does not count.
final class RequestDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    private var isReading = false

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        // Bytes are watched before the HTTP decoder (and TLS): a request starts with its first byte.
        let watcher = RequestBytesWatcher(owner: NIOLoopBound(self, eventLoop: context.eventLoop))
        try? context.pipeline.syncOperations.addHandler(watcher, position: .first)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    /// Some bytes arrived: the first of a request starts its deadline.
    fileprivate func bytesArrived(_ context: ChannelHandlerContext) {
        guard !isReading else { return }
        isReading = true
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            // The request is read: what follows is the answer's time, then the idle timeout's.
            deadline?.cancel()
            deadline = nil
            isReading = false
        }
        context.fireChannelRead(data)
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
