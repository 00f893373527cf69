import Cluster
import PeerTransport
import Placement
import QueueEngine
import Raft

/// Requests through any node, as `NodeRouter` takes them: to the node's own replica of the queue's shard,
/// or as a call over the simulated peer link to a node that hosts one (chosen, bounded, timed out and
/// matched to its reply by the node's `NodeCalls`), answered there by that node's driver.
extension SimulationWorld {
    /// Hands the request `handle` to its shard: to this node's replica, or as a call to another node.
    mutating func dispatch(_ call: NodeCall, handle: ClientHandle, on node: SimulatedNode) {
        if node.hosts(Int(call.shard.rawValue)) { return give(call, handle: handle, to: node) }
        let time = node.time(now).monotonicMilliseconds
        let replicas = replicaSets[Int(call.shard.rawValue)]!.filter { $0 != node.id }
        guard let peer = node.calls.peer(among: replicas, isLinked: { isLinked(node.id, $0) }, now: time) else {
            return finished(handle, .failure(NodeCallFailure.unreachable), on: node)
        }
        var waitSeconds = 0
        if case .receive(_, _, let wait) = call { waitSeconds = wait ?? QueueLimits.waitTimeSecondsMax }
        let timeout = NodeCalls<ClientHandle>.timeoutMilliseconds(
            proposalTimeoutMilliseconds: node.settings.proposalTimeoutMilliseconds, waitSeconds: waitSeconds)
        guard
            let id = node.calls.begin(
                to: peer, isReceive: call.isReceive, timeoutMilliseconds: timeout, now: time, waiter: handle)
        else { return finished(handle, .failure(NodeCallFailure.busy), on: node) }
        let frame: PeerFrame
        do {
            frame = try NodeCallCodec.frame(call, id: id)
        } catch {
            return fail("node \(node.id) cannot encode call \(id): \(error)")
        }
        record("node \(node.id) calls node \(peer) for \(handle) (call \(id))")
        // A call rides a connection, which neither duplicates nor reorders what it carries; it can be lost
        // with its link.
        if !network.send([frame], from: node.id, to: peer, now: now, random: &networkRandom, isCall: true) {
            _ = node.calls.remove(id)
            finished(handle, .failure(NodeCallFailure.unreachable), on: node)
        }
    }

    /// Gives a request to this node's replica of its shard.
    mutating func give(_ call: NodeCall, handle: ClientHandle, to node: SimulatedNode) {
        let shard = Int(call.shard.rawValue)
        let time = node.time(now)
        switch call {
        case .command(_, let command):
            carryOut(node.step(shard) { $0.clientCommand(command, client: handle, now: time) }, on: node, shard)
        case .receive(_, let request, let waitSeconds):
            carryOut(
                node.step(shard) { $0.clientReceive(request, waitSeconds: waitSeconds, client: handle, now: time) },
                on: node, shard)
        case .query(_, let query):
            node.reads[handle] = query
            carryOut(node.step(shard) { $0.clientRead(client: handle, now: time) }, on: node, shard)
        }
    }

    /// A driver of `node` answered `handle`: a call of another node (reply over the link), or a request
    /// this node took.
    mutating func answer(_ handle: ClientHandle, with reply: NodeReply, on node: SimulatedNode) {
        if let served = node.served.removeValue(forKey: handle) {
            do {
                let frame = try NodeCallCodec.frame(reply, id: served.call, shard: served.shard)
                // A reply that cannot go (link cut) is lost: the caller times out.
                _ = network.send(
                    [frame], from: node.id, to: served.caller, now: now, random: &networkRandom, isCall: true)
            } catch {
                fail("node \(node.id) cannot encode its reply to call \(served.call): \(error)")
            }
            return
        }
        guard node.clients.contains(handle) else {
            return fail("node \(node.id) answered request \(handle), which it does not hold")
        }
        finished(handle, reply, on: node)
    }

    /// A request `node` took has its answer (from its replica, from a call, or a failure of the call).
    mutating func finished(_ handle: ClientHandle, _ reply: NodeReply, on node: SimulatedNode) {
        node.clients.remove(handle)
        let result: CommandResult
        switch reply {
        case .result(let commandResult): result = commandResult
        case .failure(let error): result = .failure(error)
        case .answer(let answer):
            guard transfers[handle] == nil else { return fail("a step of a transfer was answered as a query") }
            return queryAnswered(handle, answer)
        }
        if let transfer = transfers.removeValue(forKey: handle) {
            transferStepAnswered(transfer, result)
        } else {
            answered(handle, result)
        }
    }

    /// A call or reply frame reached `node`.
    mutating func callFrame(_ frame: PeerFrame, from peer: NodeID, to node: SimulatedNode) {
        do {
            if frame.kind == .call {
                let (id, call) = try NodeCallCodec.decode(NodeCall.self, frame.payload)
                guard node.hosts(Int(call.shard.rawValue)) else {
                    let reply = try NodeCallCodec.frame(.failure(NodeCallFailure.notHosted), id: id, shard: frame.shard)
                    _ = network.send([reply], from: node.id, to: peer, now: now, random: &networkRandom, isCall: true)
                    return
                }
                let handle = nextOperation
                nextOperation += 1
                node.served[handle] = (peer, id, frame.shard)
                record("node \(node.id) answers call \(id) of node \(peer) as \(handle)")
                give(call, handle: handle, to: node)
            } else {
                let (id, reply) = try NodeCallCodec.decode(NodeReply.self, frame.payload)
                guard let handle = node.calls.replied(id, from: peer) else {
                    return record("node \(node.id): a reply from node \(peer) to call \(id), which waits no more")
                }
                callsAnswered += 1
                finished(handle, reply, on: node)
            }
        } catch {
            fail("a \(frame.kind) frame from node \(peer) to node \(node.id) cannot be decoded: \(error)")
        }
    }

    /// Calls past their deadline fail (their peers are passed over for a while).
    mutating func expireCalls() {
        for node in nodes where node.isUp && !node.calls.pending.isEmpty {
            for handle in node.calls.expired(now: node.time(now).monotonicMilliseconds) {
                callsFailed += 1
                record("node \(node.id): the call for \(handle) timed out")
                finished(handle, .failure(NodeCallFailure.timedOut), on: node)
            }
        }
    }

    /// Every node's calls to `peer` fail: its connections closed.
    mutating func linkDown(_ peer: NodeID) {
        for node in nodes where node.isUp && node.id != peer {
            for call in node.calls.linkDown(peer) {
                callsFailed += 1
                finished(call.waiter, .failure(NodeCallFailure.unreachable), on: node)
            }
        }
    }

    /// Whether `node` has a link to `peer`: the peer is up and no partition cuts them either way.
    func isLinked(_ node: NodeID, _ peer: NodeID) -> Bool {
        nodes.contains { $0.id == peer && $0.isUp }
            && !network.cut.contains(SimulatedNetwork.Link(from: node, to: peer))
            && !network.cut.contains(SimulatedNetwork.Link(from: peer, to: node))
    }
}
