import FerryChaos
import Foundation
import Testing

/// The summary and the HTML report of a run, from a crafted history.
@Suite struct ChaosReportTests {
    static func summary() -> ChaosSummary {
        var history: [ChaosOperation] = []
        for index in 0..<40 {
            let body = "m\(index)"
            let start = Int64(index) * 250
            history.append(
                ChaosOperation(
                    id: UInt64(history.count + 1), node: 1 + index % 3, action: .send, queue: "q", startMs: start,
                    endMs: start + 5 + Int64(index % 4), outcome: index == 7 ? .unknown : .ok, body: body,
                    messageId: "id-\(index)", md5OfBody: ChaosChecker.md5(body)))
        }
        history.append(
            ChaosOperation(
                id: 99, node: 2, action: .receive, queue: "q", startMs: 9_000, endMs: 9_010, outcome: .ok,
                messages: (0..<40).map {
                    .init(messageId: "id-\($0)", body: "m\($0)", md5OfBody: ChaosChecker.md5("m\($0)"))
                }))
        let fault = ChaosFault(kind: .kill, nodes: [2], startMs: 2_000, endMs: 4_500)
        history.append(
            ChaosOperation(
                id: 100, node: 2, action: .fault, queue: "", startMs: 2_000, endMs: 4_500, outcome: .ok, fault: fault))
        let verdict = ChaosChecker().check(history)
        return ChaosSummary(
            seed: 5, nodes: 3, durationSeconds: 10, faults: [fault], verdict: verdict, history: history,
            historyPath: "history.jsonl", reportPath: "report.html")
    }

    @Test func theCheckerIgnoresFaultRecords() {
        let summary = Self.summary()
        #expect(summary.verdict.isValid)
        #expect(summary.verdict.acknowledged == 39 && summary.verdict.unknown == 1)
        #expect(summary.requests == (41, 0, 1))
    }

    @Test func theReportShadesFaultsAndShowsTheVerdictAndEveryNode() {
        let html = ChaosReport.html(summary: Self.summary())
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("chaos: VALID — acknowledged 39, lost 0"))
        #expect(html.components(separatedBy: "<svg").count - 1 == 3)
        #expect(html.contains("<rect class=\"fault\"") && html.contains("<title>kill node 2</title>"))
        #expect(html.contains("<td>3</td>"))
        #expect(!html.contains("http://") || html.contains("http://www.w3.org/2000/svg"))
        #expect(!html.contains("<script"))
    }

    @Test func theJSONSummaryCarriesTheCountsAndTheLine() throws {
        let data = Data(Self.summary().json.utf8)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["valid"] as? Bool == true)
        #expect(object["acknowledged"] as? Int == 39)
        #expect(object["lost"] as? Int == 0)
        #expect((object["faults"] as? [[String: Any]])?.first?["kind"] as? String == "kill")
        #expect((object["line"] as? String)?.hasSuffix("faults: kill 1") == true)
    }

    @Test func aHistoryFileReadsBack() throws {
        let path = NSTemporaryDirectory() + "chaos-history-\(UInt64.random(in: 1...UInt64.max)).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let recorder = try ChaosRecorder(path: path, origin: .now)
        for operation in Self.summary().history { recorder.record(operation) }
        recorder.close()
        #expect(recorder.counts.acknowledged == 39 && recorder.outstanding == 0 && recorder.counts.received == 40)
        let read = try ChaosRecorder.read(path: path)
        #expect(read.count == Self.summary().history.count)
        #expect(read.map(\.id) == Array(1...UInt64(read.count)), "ids assigned in order")
        #expect(read.last?.fault?.kind == .kill)
    }
}
