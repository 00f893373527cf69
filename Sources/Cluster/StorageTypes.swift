import SegmentLog

/// SegmentLog's hard state, named apart from Raft's.
typealias StoredHardState = HardState
