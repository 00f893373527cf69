import NIOCore
import Synchronization

/// Bounds the HTTP connections a node holds open at once: past `max`, a new connection is closed as soon
/// as it is set up (the client sees a reset and retries; every AWS SDK does), so that slow or idle
/// clients cannot exhaust the process's descriptors or memory before authentication. Shared by every
/// connection of one server.
final class ConnectionLimit: Sendable {
    let max: Int
    private let open = Atomic<Int>(0)

    init(max: Int) { self.max = max }

    var openConnections: Int { open.load(ordering: .relaxed) }

    /// The handler each connection's pipeline gets.
    func handler() -> ConnectionLimitHandler { ConnectionLimitHandler(limit: self) }

    /// Counts a connection in; false when it is one too many (it is not counted then).
    fileprivate func admit() -> Bool {
        let now = open.add(1, ordering: .relaxed).newValue
        guard now > max else { return true }
        open.subtract(1, ordering: .relaxed)
        return false
    }

    fileprivate func release() { open.subtract(1, ordering: .relaxed) }
}

/// Counts its connection while it is in the pipeline; closes it at once when the limit is reached.
final class ConnectionLimitHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny

    private let limit: ConnectionLimit
    private var isCounted = false

    init(limit: ConnectionLimit) { self.limit = limit }

    func handlerAdded(context: ChannelHandlerContext) {
        if limit.admit() {
            isCounted = true
        } else {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        guard isCounted else { return }
        isCounted = false
        limit.release()
    }
}
