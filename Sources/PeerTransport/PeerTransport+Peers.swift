import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The peer set while the node runs, and the dial loops that follow it.
///
/// Each peer this node dials has at most one dial loop at a time. The loop reads the peer's address
/// afresh before each dial, and ends when the peer is removed or the transport shuts down; `setPeers`
/// starts a loop only for a peer that has none, and a loop removes itself from the state in the same lock
/// in which it decides to end, so no change slips between the two.
extension PeerTransport {
    /// The peers now: the configuration's, or the last `setPeers`.
    public var peers: [PeerNodeID: PeerAddress] { state.withLock { $0.peers.addresses } }

    /// The new complete set of other nodes and where they listen (an entry for this node is ignored).
    /// Idempotent, and safe from any thread.
    ///
    /// - A new peer with a higher id is dialed (once the transport has started).
    /// - A peer whose address changed is redialed at the new one: a link this node dialed to the old
    ///   address is closed, and a redial wait in progress ends at once.
    /// - A node no longer present is dropped: its dial loop ends, its link closes (`onLinkChange` reports
    ///   it down; from this call on `isConnected` is false, `send` to it fails and no more of its frames
    ///   are delivered), and its links are refused until it is a peer again.
    public func setPeers(_ peers: [PeerNodeID: PeerAddress]) {
        let (change, closing, wakeUps, linksDown) = state.withLock {
            state -> (PeerSet.Change, [any Channel], [Scheduled<Void>], [PeerNodeID]) in
            guard !state.isShutDown else { return (PeerSet.Change(), [], [], []) }
            let change = state.peers.peersChanged(peers)
            var closing: [any Channel] = []
            var wakeUps: [Scheduled<Void>] = []
            var linksDown: [PeerNodeID] = []
            for peer in change.removed {
                if let link = state.links.removeValue(forKey: peer) {
                    link.mark.drop()
                    closing.append(link.channel)
                    linksDown.append(peer)
                }
                if let channel = state.dialers[peer]?.channel { closing.append(channel) }
                if let pause = state.dialers[peer]?.pause { wakeUps.append(pause) }
            }
            for peer in change.readdressed {
                guard let dialer = state.dialers[peer] else { continue }
                if let channel = dialer.channel, dialer.channelAddress != peers[peer] { closing.append(channel) }
                if let pause = dialer.pause { wakeUps.append(pause) }
            }
            startDialLoops(&state)
            return (change, closing, wakeUps, linksDown)
        }
        guard !change.isEmpty else { return }
        logger.info(
            "peers changed: added \(change.added), readdressed \(change.readdressed), removed \(change.removed)")
        for pause in wakeUps { pause.cancel() }
        for channel in closing { channel.close(promise: nil) }
        for peer in linksDown {
            logger.info("peer link to node \(peer) is down: no longer a peer")
            onLinkChange(peer, false)
        }
    }

    /// Starts a dial loop for each peer this node dials that has none, once started. Under the lock.
    func startDialLoops(_ state: inout State) {
        guard state.isStarted, !state.isShutDown else { return }
        for peer in state.peers.dialed where state.dialers[peer] == nil {
            state.dialers[peer] = Dialer(task: Task { await self.dialLoop(peer) })
        }
    }

    /// Dial loops running: one per peer this node dials, none after shutdown.
    var dialLoopCount: Int { state.withLock { $0.dialers.count } }

    /// Dials `peer` at its current address until it is removed or the transport shuts down, waiting for
    /// each link to close before dialing again.
    private func dialLoop(_ peer: PeerNodeID) async {
        var delay = configuration.reconnectDelayMillisecondsMin
        while let address = addressToDial(peer) {
            do {
                let channel = try await ClientBootstrap(group: group)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .connectTimeout(.milliseconds(Int64(configuration.connectTimeoutMilliseconds)))
                    .channelInitializer { [self] channel in
                        channel.eventLoop.makeCompletedFuture { try self.configure(channel, dialing: peer) }
                    }
                    .connect(host: address.host, port: address.port).get()
                guard adopt(channel, of: peer, dialedTo: address) else {
                    // Readdressed, removed or shut down while connecting: look again at once.
                    channel.close(promise: nil)
                    continue
                }
                try? await channel.closeFuture.get()
                if release(channel, of: peer) { continue }
                delay = configuration.reconnectDelayMillisecondsMin
            } catch {
                logger.debug("dialing node \(peer) at \(address): \(error)")
            }
            let jittered = delay / 2 + Int.random(in: 0...max(1, delay / 2))
            await pause(milliseconds: jittered, before: peer, at: address)
            delay = min(configuration.reconnectDelayMillisecondsMax, delay * 2)
        }
    }

    /// The address to dial `peer` at next, or nil when its loop ends (the loop is then removed).
    private func addressToDial(_ peer: PeerNodeID) -> PeerAddress? {
        state.withLock { state in
            guard !state.isShutDown, !Task.isCancelled, state.peers.dials(peer) else {
                state.dialers[peer] = nil
                return nil
            }
            return state.peers.addresses[peer]
        }
    }

    /// Records `channel` as the loop's, unless `peer` no longer listens at `address` or is gone.
    private func adopt(_ channel: any Channel, of peer: PeerNodeID, dialedTo address: PeerAddress) -> Bool {
        state.withLock { state in
            guard !state.isShutDown, state.peers.addresses[peer] == address, state.dialers[peer] != nil else {
                return false
            }
            state.dialers[peer]!.channel = channel
            state.dialers[peer]!.channelAddress = address
            return true
        }
    }

    /// Forgets the loop's closed `channel`; returns whether another link to `peer` is up.
    private func release(_ channel: any Channel, of peer: PeerNodeID) -> Bool {
        state.withLock { state in
            if let dialed = state.dialers[peer]?.channel, dialed === channel {
                state.dialers[peer]!.channel = nil
                state.dialers[peer]!.channelAddress = nil
            }
            return state.links[peer] != nil
        }
    }

    /// Waits on an event loop's timer, which runs on the monotonic clock (`NIODeadline`), ended early by
    /// cancellation (shutdown) or by `setPeers` changing or removing `peer`; not at all if it already has.
    /// Not `Task.sleep`: under a library that fakes the process's clocks (libfaketime, as `ferry chaos`
    /// uses for its clock fault) the concurrency runtime's sleeps were seen never to end, and a link never
    /// redialed.
    private func pause(milliseconds: Int, before peer: PeerNodeID, at address: PeerAddress) async {
        let scheduled = group.next().scheduleTask(in: .milliseconds(Int64(milliseconds))) {}
        let registered = state.withLock { state in
            guard !state.isShutDown, state.peers.addresses[peer] == address, state.dialers[peer] != nil else {
                return false
            }
            state.dialers[peer]!.pause = scheduled
            return true
        }
        guard registered else { return scheduled.cancel() }
        await withTaskCancellationHandler {
            _ = try? await scheduled.futureResult.get()
        } onCancel: {
            scheduled.cancel()
        }
        state.withLock { $0.dialers[peer]?.pause = nil }
    }
}
