import Raft

/// Raft's hard state, named apart from SegmentLog's.
typealias RaftHardState = HardState
