import Benchmark
import QueueEngine
import SQSWire
import SigV4

/// Hot paths of one node: the engine's apply, the wire codecs, SigV4 verification, LZ4, the segment log on disk,
/// and Raft consensus in memory. Names use no spaces (`Area.What_Size`): package-benchmark 1.38.1 stores
/// thresholds under a name with spaces turned into `_` but looks them up under the name as written, so
/// `thresholds check` would never find them.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000,
        // `thresholds check` compares p90 only, and a stored metric without a tolerance here must match exactly.
        thresholds: [
            .wallClock: .init(relative: [.p50: 25, .p90: 35]),
            .throughput: rateTolerance,
            .mallocCountTotal: .init(relative: [.p50: 10, .p90: 10]),
        ]
    )
    engineBenchmarks()
    codecBenchmarks()
    signatureBenchmarks()
    lz4Benchmarks()
    segmentLogBenchmarks()
    raftBenchmarks()
    driverBenchmarks()
}

/// How far a rate (throughput, MB/s) may move, in percent: at p50 only, so `thresholds check` skips rates. In
/// package-benchmark 1.38.1 `thresholds update` stores a larger-is-better metric's 90th percentile (its best tenth)
/// while `thresholds check` compares its p90 as the worst tenth (`Statistics.percentiles()` flips it), so any spread
/// reads as a regression. A rate is the inverse of the wall clock, which is checked.
var rateTolerance: BenchmarkThresholds { BenchmarkThresholds(relative: [.p50: 25]) }

/// A batch of ten 256-byte messages.
let batchEntries: [SendMessageEntry] = (0..<10).map { index in
    SendMessageEntry(id: "\(index)", body: String(repeating: "x", count: 256))
}

func makeEngine() -> QueueEngine {
    var engine = QueueEngine(configuration: QueueEngineConfiguration(receiptHandleKey: Array(repeating: 5, count: 32)))
    _ = engine.apply(.createQueue(name: "bench", attributes: [:], tags: [:]), timestampMilliseconds: 1)
    _ = engine.apply(
        .createQueue(
            name: "bench.fifo", attributes: ["FifoQueue": "true", "ContentBasedDeduplication": "true"], tags: [:]),
        timestampMilliseconds: 1)
    return engine
}

/// An engine whose standard queue holds `depth` messages.
func filledEngine(depth: Int) -> QueueEngine {
    var engine = makeEngine()
    var now: Int64 = 10
    for _ in 0..<(depth / 10) {
        now += 1
        _ = engine.apply(
            .sendMessages(queueName: "bench", entries: batchEntries, senderId: "A", isBatch: true),
            timestampMilliseconds: now)
    }
    return engine
}

func engineBenchmarks() {
    Benchmark("QueueEngine.SendMessageBatch_10x256B") { benchmark in
        var engine = makeEngine()
        var now: Int64 = 10
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            now += 1
            blackHole(
                engine.apply(
                    .sendMessages(queueName: "bench", entries: batchEntries, senderId: "A", isBatch: true),
                    timestampMilliseconds: now))
        }
        benchmark.stopMeasurement()
    }

    // A send with the shard's capacity check (the totals of every queue of the shard, read before each
    // send by the driver) on an engine holding 10,000 queues: must cost about what a send alone does.
    Benchmark("QueueEngine.SendMessageBatch+Totals_10x256B_10000Queues") { benchmark in
        var engine = makeEngine()
        for index in 0..<10_000 {
            _ = engine.apply(.createQueue(name: "q\(index)", attributes: [:], tags: [:]), timestampMilliseconds: 2)
        }
        var now: Int64 = 10
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            now += 1
            blackHole(engine.storedTotals)
            blackHole(
                engine.apply(
                    .sendMessages(queueName: "bench", entries: batchEntries, senderId: "A", isBatch: true),
                    timestampMilliseconds: now))
        }
        benchmark.stopMeasurement()
    }

    // Receive 10, delete them and send 10 more, on a queue kept at a given depth: the cost must not grow
    // with depth. The filled engine is built once; each sample works on a copy, made before measuring.
    for depth in [1_000, 100_000] {
        let template = filledEngine(depth: depth)
        Benchmark(
            "QueueEngine.Receive+Delete+Send_10_depth_\(depth)",
            configuration: .init(scalingFactor: .kilo, maxDuration: .seconds(5))
        ) { benchmark in
            var engine = template
            var now: Int64 = 1_000_000
            _ = engine.apply(.advanceTime, timestampMilliseconds: now)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                now += 1
                guard
                    case .received(let messages) = engine.apply(
                        .receiveMessages(ReceiveMessageRequest(queueName: "bench", maxNumberOfMessages: 10)),
                        timestampMilliseconds: now)
                else { fatalError("receive failed") }
                let entries = messages.enumerated().map {
                    ReceiptEntry(id: "\($0.offset)", receiptHandle: $0.element.receiptHandle)
                }
                blackHole(
                    engine.apply(
                        .deleteMessages(queueName: "bench", entries: entries, isBatch: true), timestampMilliseconds: now
                    ))
                blackHole(
                    engine.apply(
                        .sendMessages(queueName: "bench", entries: batchEntries, senderId: "A", isBatch: true),
                        timestampMilliseconds: now))
            }
            benchmark.stopMeasurement()
            blackHole(engine)
        }
    }

    Benchmark("QueueEngine.FIFO_Send+Receive+Delete_10") { benchmark in
        var engine = makeEngine()
        var now: Int64 = 10
        var counter = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            now += 1
            let entries = (0..<10).map { index -> SendMessageEntry in
                counter += 1
                return SendMessageEntry(id: "\(index)", body: "m\(counter)", messageGroupId: "g\(counter % 8)")
            }
            _ = engine.apply(
                .sendMessages(queueName: "bench.fifo", entries: entries, senderId: "A", isBatch: true),
                timestampMilliseconds: now)
            guard
                case .received(let messages) = engine.apply(
                    .receiveMessages(ReceiveMessageRequest(queueName: "bench.fifo", maxNumberOfMessages: 10)),
                    timestampMilliseconds: now)
            else { fatalError("receive failed") }
            let receipts = messages.enumerated().map {
                ReceiptEntry(id: "\($0.offset)", receiptHandle: $0.element.receiptHandle)
            }
            blackHole(
                engine.apply(
                    .deleteMessages(queueName: "bench.fifo", entries: receipts, isBatch: true),
                    timestampMilliseconds: now))
        }
        benchmark.stopMeasurement()
    }
}

let sendBatchJSON: [UInt8] = {
    var text = "{\"QueueUrl\":\"http://127.0.0.1:9324/000000000000/bench\",\"Entries\":["
    text += (0..<10).map { "{\"Id\":\"\($0)\",\"MessageBody\":\"\(String(repeating: "x", count: 256))\"}" }.joined(
        separator: ",")
    return Array((text + "]}").utf8)
}()

let sendBatchForm: [UInt8] = {
    var text = "Action=SendMessageBatch&QueueUrl=http%3A%2F%2F127.0.0.1%3A9324%2F000000000000%2Fbench"
    for index in 1...10 {
        text += "&SendMessageBatchRequestEntry.\(index).Id=\(index)"
        text += "&SendMessageBatchRequestEntry.\(index).MessageBody=\(String(repeating: "x", count: 256))"
    }
    return Array(text.utf8)
}()

func codecBenchmarks() {
    Benchmark("JSON.Decode_SendMessageBatch_10x256B") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try JSONWireDecoder.decode(sendBatchJSON)) }
    }
    Benchmark("Query.Decode_SendMessageBatch_10x256B") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try QueryWireDecoder.decode(pairs: QueryWireDecoder.parseForm(sendBatchForm)))
        }
    }
    let messages: [WireValue] = (0..<10).map { index in
        .object([
            "MessageId": .string("0f8fad5b-d9cb-469f-a165-70867728950e"),
            "ReceiptHandle": .string(String(repeating: "A", count: 56)),
            "MD5OfBody": .string("d41d8cd98f00b204e9800998ecf8427e"),
            "Body": .string(String(repeating: "x", count: 256)),
        ])
    }
    let receiveResult: WireObject = ["Messages": .list(messages)]
    Benchmark("JSON.Encode_ReceiveMessageResult_10") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(JSONWireEncoder.encode(.object(receiveResult))) }
    }
    Benchmark("XML.Encode_ReceiveMessageResult_10") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(XMLWireEncoder.encodeResponse(action: "ReceiveMessage", result: receiveResult, requestId: "r"))
        }
    }
}

func signatureBenchmarks() {
    let signer = SigV4Signer(accessKeyId: "AKIDBENCH", secret: "bench-secret", region: "us-east-1")
    var request = SigV4Request(
        method: "POST", rawPath: "/", rawQuery: "",
        headers: [
            (name: "host", value: "127.0.0.1:9324"), (name: "content-type", value: "application/x-amz-json-1.0"),
            (name: "x-amz-target", value: "AmazonSQS.SendMessageBatch"),
        ], body: sendBatchJSON)
    try? signer.sign(&request, epochSeconds: 1_700_000_000)
    let signed = request
    let verifier = SigV4Verifier(credentials: ["AKIDBENCH": "bench-secret"])
    Benchmark("SigV4.Verify_3KB_JSONRequest") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(verifier.verify(signed, nowSeconds: 1_700_000_000)) }
    }
}
