import Testing

@testable import PeerTransport

/// The peer set as a value: what each change adds, readdresses and removes, and whom it refuses.
@Suite struct PeerSetTests {
    private func address(_ port: Int) -> PeerAddress { PeerAddress(host: "10.0.0.1", port: port) }

    @Test func aChangeNamesWhatWasAddedReaddressedAndRemovedAndIsIdempotent() {
        var peers = PeerSet(nodeID: 2, addresses: [1: address(1), 3: address(3), 4: address(4)])
        let next: [PeerNodeID: PeerAddress] = [1: address(1), 3: address(33), 5: address(5), 6: address(6)]
        #expect(peers.peersChanged(next) == PeerSet.Change(added: [5, 6], readdressed: [3], removed: [4]))
        #expect(peers.addresses == next)
        #expect(peers.peersChanged(next).isEmpty, "the same set again changes nothing")
        #expect(peers.dialed == [3, 5, 6], "the lower id dials")
        #expect(peers.dials(3) && !peers.dials(1) && !peers.dials(4))
    }

    @Test func thisNodeIsNeverItsOwnPeer() {
        var peers = PeerSet(nodeID: 2, addresses: [2: address(2), 3: address(3)])
        #expect(peers.addresses == [3: address(3)])
        #expect(peers.peersChanged([2: address(22), 3: address(3)]).isEmpty)
        #expect(peers.refusesLinks(from: 2))
    }

    @Test func aRemovedNodeIsRefusedUntilAddedBackAndAnUnknownNodeIsNot() {
        var peers = PeerSet(nodeID: 1, addresses: [2: address(2)])
        #expect(!peers.refusesLinks(from: 7), "a node not yet learned of may dial in")
        #expect(!peers.contains(7))
        #expect(peers.peersChanged([:]) == PeerSet.Change(removed: [2]))
        #expect(peers.refusesLinks(from: 2))
        #expect(peers.dialed.isEmpty)
        #expect(peers.peersChanged([2: address(2)]) == PeerSet.Change(added: [2]))
        #expect(!peers.refusesLinks(from: 2))
        #expect(peers.dialed == [2])
    }
}
