import Logging
import NIOCore
import NIOSSL
import Synchronization

/// One end of a peer link. It sends its hello first, checks the peer's hello against the peer's
/// certificate, then hands every frame to the transport, pings while idle, and closes the link when the
/// peer falls silent for the idle timeout.
final class PeerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = PeerFrame
    typealias OutboundIn = PeerFrame
    typealias OutboundOut = PeerFrame

    private enum State {
        /// Waiting for the peer's hello; `expected` is the node dialed, or nil when accepting.
        case awaitingHello(expected: PeerNodeID?)
        /// `link` is the transport's mark on it, set when the transport drops the link.
        case established(peer: PeerNodeID, link: PeerLinkMark)
        case closed
    }

    private var state: State
    private let transport: PeerTransport
    private var pingTask: RepeatedTask?
    private var lastHeard = NIODeadline.now()

    init(transport: PeerTransport, dialing expected: PeerNodeID?) {
        self.transport = transport
        self.state = .awaitingHello(expected: expected)
    }

    func channelActive(context: ChannelHandlerContext) {
        let hello = PeerHello(
            nodeID: transport.configuration.nodeID, clusterName: transport.configuration.clusterName,
            facts: transport.configuration.facts)
        context.writeAndFlush(wrapOutboundOut(PeerFrame(kind: .hello, payload: hello.encoded())), promise: nil)
        let interval = TimeAmount.milliseconds(Int64(transport.configuration.pingIntervalMilliseconds))
        let idle = TimeAmount.milliseconds(Int64(transport.configuration.idleTimeoutMilliseconds))
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        pingTask = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let context = loopBound.value
            if NIODeadline.now() - handler.value.lastHeard > idle {
                handler.value.transport.logger.warning(
                    "peer link to \(context.remoteAddress.map { "\($0)" } ?? "?") silent; closing")
                context.close(promise: nil)
                return
            }
            context.writeAndFlush(handler.value.wrapOutboundOut(PeerFrame(kind: .ping)), promise: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        pingTask?.cancel()
        pingTask = nil
        if case .established(let peer, _) = state { transport.linkClosed(peer: peer, channel: context.channel) }
        state = .closed
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        lastHeard = .now()
        switch state {
        case .awaitingHello(let expected):
            do {
                let peer = try verifiedHello(frame, expected: expected, context: context)
                guard let link = transport.linkEstablished(peer: peer, channel: context.channel) else {
                    // Removed by `setPeers`, or shutting down, since the check in `verifiedHello`.
                    transport.logger.debug("dropping the new peer link to node \(peer): no longer a peer")
                    state = .closed
                    context.close(promise: nil)
                    return
                }
                state = .established(peer: peer, link: link)
            } catch {
                transport.logger.error(
                    "refusing peer link from \(context.remoteAddress.map { "\($0)" } ?? "?"): \(error)")
                transport.linkRefused()
                state = .closed
                context.close(promise: nil)
            }
        case .established(let peer, let link):
            // Dropped by `setPeers`: its close may still be on its way (TLS closes gracefully).
            link.counters.receivedBytes.add(frame.wireSize, ordering: .relaxed)
            if frame.kind == .ping || link.isDropped { return }
            transport.deliver(frame, from: peer)
        case .closed:
            return
        }
    }

    /// The peer's node id, once its hello names this cluster and a node its certificate vouches for. The
    /// node need not be among this node's peers (a node just started, that this one has not learned of
    /// yet), unless it was removed from them.
    private func verifiedHello(_ frame: PeerFrame, expected: PeerNodeID?, context: ChannelHandlerContext) throws
        -> PeerNodeID
    {
        guard frame.kind == .hello else { throw PeerFrameError.badHello("first frame is \(frame.kind)") }
        let hello = try PeerHello(decoding: frame.payload)
        guard hello.protocolVersion == PeerHello.currentProtocolVersion else {
            throw PeerFrameError.badHello(
                "node \(hello.nodeID) speaks cluster protocol \(hello.protocolVersion), this node \(PeerHello.currentProtocolVersion): every node of a cluster must run the same version (upgrade by stopping them all)"
            )
        }
        guard hello.clusterName == transport.configuration.clusterName else {
            throw PeerFrameError.badHello(
                "cluster \"\(hello.clusterName)\" is not \"\(transport.configuration.clusterName)\"")
        }
        let differences = transport.configuration.facts.differences(from: hello.facts)
        guard differences.isEmpty else {
            throw PeerFrameError.badHello(
                "node \(hello.nodeID) is configured differently: \(differences.joined(separator: "; "))")
        }
        if let expected, hello.nodeID != expected {
            throw PeerFrameError.badHello("dialed node \(expected) but node \(hello.nodeID) answered")
        }
        guard hello.nodeID != transport.configuration.nodeID else {
            throw PeerFrameError.badHello("node \(hello.nodeID) is this node")
        }
        guard !transport.refusesLinks(from: hello.nodeID) else {
            throw PeerFrameError.badHello(
                "node \(hello.nodeID) was removed from the peers of node \(transport.configuration.nodeID)")
        }
        guard let certificate = try context.pipeline.syncOperations.nioSSL_peerCertificate() else {
            throw ClusterCertificateError(description: "peer presented no certificate")
        }
        let named = try ClusterIdentity.nodeIDs(certificateDER: try certificate.toDERBytes())
        guard named.contains(hello.nodeID) else {
            throw ClusterCertificateError(description: "certificate names nodes \(named), hello claims \(hello.nodeID)")
        }
        return hello.nodeID
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        transport.logger.warning("peer link \(context.remoteAddress.map { "\($0)" } ?? "?"): \(error)")
        context.close(promise: nil)
    }
}
