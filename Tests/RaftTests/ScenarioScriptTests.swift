import Testing

/// Golden interaction scripts: every `Ready` and every message of a scenario, written out so that a change in
/// behaviour shows up as a readable diff. See `InteractionScript` for the commands; a failing script prints
/// what it should read now.
@Suite struct ScenarioScriptTests {
    /// Election, replication with one follower cut off, and the follower's repair by fast backtracking.
    @Test func electionReplicationAndRepairOfALaggingFollower() {
        InteractionScript(
            """
            start voters=1,2,3
            ----

            tick 1 20
            ----

            stabilize
            ----
            1: candidate leader=0
            1: hardState term=1 votedFor=1 commit=0
            1->2 vote term=1 last=0@0
            1->3 vote term=1 last=0@0
            2: hardState term=1 votedFor=1 commit=0
            3: hardState term=1 votedFor=1 commit=0
            2->1 voteResponse term=1 granted
            3->1 voteResponse term=1 granted
            1: leader leader=1
            1: persist [1@1]
            1->2 append term=1 prev=0@0 entries=[1@1] commit=0
            1->3 append term=1 prev=0@0 entries=[1@1] commit=0
            2: follower leader=1
            2: persist [1@1]
            3: follower leader=1
            3: persist [1@1]
            2->1 appendResponse term=1 index=1
            3->1 appendResponse term=1 index=1
            1: hardState term=1 votedFor=1 commit=1
            1: apply [1@1]
            1->2 append term=1 prev=1@1 entries=[] commit=1
            1->3 append term=1 prev=1@1 entries=[] commit=1
            2: hardState term=1 votedFor=1 commit=1
            2: apply [1@1]
            3: hardState term=1 votedFor=1 commit=1
            3: apply [1@1]
            2->1 appendResponse term=1 index=1
            3->1 appendResponse term=1 index=1

            isolate 3
            ----

            propose 1 x
            ----

            stabilize
            ----
            1: persist [2@1 "x"]
            1->2 append term=1 prev=1@1 entries=[2@1 "x"] commit=1
            1->3 append term=1 prev=1@1 entries=[2@1 "x"] commit=1 (dropped)
            2: persist [2@1 "x"]
            2->1 appendResponse term=1 index=2
            1: hardState term=1 votedFor=1 commit=2
            1: apply [2@1 "x"]
            1->2 append term=1 prev=2@1 entries=[] commit=2
            1->3 append term=1 prev=2@1 entries=[] commit=2 (dropped)
            2: hardState term=1 votedFor=1 commit=2
            2: apply [2@1 "x"]
            2->1 appendResponse term=1 index=2

            heal
            ----

            tick 1
            ----

            stabilize
            ----
            1->2 heartbeat term=1 commit=2
            1->3 heartbeat term=1 commit=1
            2->1 heartbeatResponse term=1
            3->1 heartbeatResponse term=1
            1->3 append term=1 prev=2@1 entries=[] commit=2
            3->1 appendResponse term=1 rejected 2 hint=1@1
            1->3 append term=1 prev=1@1 entries=[2@1 "x"] commit=2
            3: hardState term=1 votedFor=1 commit=2
            3: persist [2@1 "x"]
            3: apply [2@1 "x"]
            3->1 appendResponse term=1 index=2
            1->3 append term=1 prev=2@1 entries=[] commit=2
            3->1 appendResponse term=1 index=2

            status
            ----
            1: leader term=1 leader=1 commit=2 log=[1@1, 2@1 "x"]
            2: follower term=1 leader=1 commit=2 log=[1@1, 2@1 "x"]
            3: follower term=1 leader=1 commit=2 log=[1@1, 2@1 "x"]
            """
        ).run()
    }

    /// With pre-vote and check-quorum: a transfer to a lagging follower, which is caught up before it is told to
    /// campaign; proposals are refused meanwhile.
    @Test func leadershipTransferToALaggingFollower() {
        InteractionScript(
            """
            start voters=1,2,3 preVote checkQuorum
            ----

            tick 1 20
            ----

            stabilize
            ----
            1: preCandidate leader=0
            1->2 preVote term=1 last=0@0
            1->3 preVote term=1 last=0@0
            2->1 preVoteResponse term=1 granted
            3->1 preVoteResponse term=1 granted
            1: candidate leader=0
            1: hardState term=1 votedFor=1 commit=0
            1->2 vote term=1 last=0@0
            1->3 vote term=1 last=0@0
            2: hardState term=1 votedFor=1 commit=0
            3: hardState term=1 votedFor=1 commit=0
            2->1 voteResponse term=1 granted
            3->1 voteResponse term=1 granted
            1: leader leader=1
            1: persist [1@1]
            1->2 append term=1 prev=0@0 entries=[1@1] commit=0
            1->3 append term=1 prev=0@0 entries=[1@1] commit=0
            2: follower leader=1
            2: persist [1@1]
            3: follower leader=1
            3: persist [1@1]
            2->1 appendResponse term=1 index=1
            3->1 appendResponse term=1 index=1
            1: hardState term=1 votedFor=1 commit=1
            1: apply [1@1]
            1->2 append term=1 prev=1@1 entries=[] commit=1
            1->3 append term=1 prev=1@1 entries=[] commit=1
            2: hardState term=1 votedFor=1 commit=1
            2: apply [1@1]
            3: hardState term=1 votedFor=1 commit=1
            3: apply [1@1]
            2->1 appendResponse term=1 index=1
            3->1 appendResponse term=1 index=1

            isolate 3
            ----

            propose 1 x
            ----

            stabilize
            ----
            1: persist [2@1 "x"]
            1->2 append term=1 prev=1@1 entries=[2@1 "x"] commit=1
            1->3 append term=1 prev=1@1 entries=[2@1 "x"] commit=1 (dropped)
            2: persist [2@1 "x"]
            2->1 appendResponse term=1 index=2
            1: hardState term=1 votedFor=1 commit=2
            1: apply [2@1 "x"]
            1->2 append term=1 prev=2@1 entries=[] commit=2
            1->3 append term=1 prev=2@1 entries=[] commit=2 (dropped)
            2: hardState term=1 votedFor=1 commit=2
            2: apply [2@1 "x"]
            2->1 appendResponse term=1 index=2

            heal
            ----

            transfer 1 3
            ----

            propose 1 refused
            ----
            error: transferInProgress

            stabilize
            ----
            1->3 append term=1 prev=2@1 entries=[] commit=2
            3->1 appendResponse term=1 rejected 2 hint=1@1
            1->3 append term=1 prev=1@1 entries=[2@1 "x"] commit=2
            3: hardState term=1 votedFor=1 commit=2
            3: persist [2@1 "x"]
            3: apply [2@1 "x"]
            3->1 appendResponse term=1 index=2
            1->3 append term=1 prev=2@1 entries=[] commit=2
            1->3 timeoutNow term=1
            3: candidate leader=0
            3: hardState term=2 votedFor=3 commit=2
            3->1 appendResponse term=1 index=2
            3->1 vote term=2 last=2@1
            3->2 vote term=2 last=2@1
            1: follower leader=0
            1: hardState term=2 votedFor=3 commit=2
            2: follower leader=0
            2: hardState term=2 votedFor=3 commit=2
            1->3 voteResponse term=2 granted
            2->3 voteResponse term=2 granted
            3: leader leader=3
            3: persist [3@2]
            3->1 append term=2 prev=2@1 entries=[3@2] commit=2
            3->2 append term=2 prev=2@1 entries=[3@2] commit=2
            1: follower leader=3
            1: persist [3@2]
            2: follower leader=3
            2: persist [3@2]
            1->3 appendResponse term=2 index=3
            2->3 appendResponse term=2 index=3
            3: hardState term=2 votedFor=3 commit=3
            3: apply [3@2]
            3->1 append term=2 prev=3@2 entries=[] commit=3
            3->2 append term=2 prev=3@2 entries=[] commit=3
            1: hardState term=2 votedFor=3 commit=3
            1: apply [3@2]
            2: hardState term=2 votedFor=3 commit=3
            2: apply [3@2]
            1->3 appendResponse term=2 index=3
            2->3 appendResponse term=2 index=3

            status
            ----
            1: follower term=2 leader=3 commit=3 log=[1@1, 2@1 "x", 3@2]
            2: follower term=2 leader=3 commit=3 log=[1@1, 2@1 "x", 3@2]
            3: leader term=2 leader=3 commit=3 log=[1@1, 2@1 "x", 3@2]
            """
        ).run()
    }
}
