import Foundation
import Synchronization

/// Writes each request to the history file as it ends (one JSON line), and keeps what the run's progress
/// line and drain need: acknowledged bodies not yet received, and counts.
public final class ChaosRecorder: Sendable {
    public struct Counts: Sendable, Equatable {
        public var operations = 0
        public var failed = 0
        public var unknown = 0
        public var acknowledged = 0
        public var received = 0
    }

    private struct State {
        var handle: FileHandle
        var nextID: UInt64 = 1
        var counts = Counts()
        /// Acknowledged sends whose body no receive has returned yet.
        var outstanding: Set<String> = []
        var delivered: Set<String> = []
        var writeError: String?
    }

    private let state: Mutex<State>
    private let origin: ContinuousClock.Instant
    /// Bodies with this suffix count as received back only from this dead-letter queue.
    private let poison: (suffix: String, deadLetter: String)?

    /// Creates (or empties) the history file at `path`. With `poison`, a body ending with its suffix is
    /// outstanding until a receive from its dead-letter queue returns it.
    public init(path: String, origin: ContinuousClock.Instant, poison: (suffix: String, deadLetter: String)? = nil)
        throws
    {
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw ChaosScheduleError(description: "cannot write the history file \(path)") }
        state = Mutex(State(handle: handle))
        self.origin = origin
        self.poison = poison
    }

    /// Milliseconds since the run started.
    public func now() -> Int64 {
        let elapsed = ContinuousClock.now - origin
        return elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }

    /// Records one ended request; its id is assigned here.
    public func record(_ operation: ChaosOperation) {
        var operation = operation
        state.withLock { state in
            operation.id = state.nextID
            state.nextID += 1
            state.counts.operations += 1
            switch operation.outcome {
            case .ok: break
            case .failed: state.counts.failed += 1
            case .unknown: state.counts.unknown += 1
            }
            if operation.action == .send, operation.outcome == .ok, let body = operation.body {
                state.counts.acknowledged += 1
                if !state.delivered.contains(body) { state.outstanding.insert(body) }
            }
            if operation.action == .receive {
                for message in operation.messages ?? [] {
                    state.counts.received += 1
                    if let poison, message.body.hasSuffix(poison.suffix), operation.queue != poison.deadLetter {
                        continue
                    }
                    state.outstanding.remove(message.body)
                    state.delivered.insert(message.body)
                }
            }
            do {
                var line = try JSONEncoder().encode(operation)
                line.append(UInt8(ascii: "\n"))
                try state.handle.write(contentsOf: line)
            } catch {
                state.writeError = "\(error)"
            }
        }
    }

    public var counts: Counts { state.withLock { $0.counts } }

    /// Acknowledged sends not received yet.
    public var outstanding: Int { state.withLock { $0.outstanding.count } }

    /// The first write error, if the history could not be written whole.
    public var writeError: String? { state.withLock { $0.writeError } }

    public func close() {
        state.withLock { state in try? state.handle.close() }
    }

    /// Reads a history file back.
    public static func read(path: String) throws -> [ChaosOperation] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ChaosScheduleError(description: "cannot read the history file \(path)")
        }
        let decoder = JSONDecoder()
        var operations: [ChaosOperation] = []
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            operations.append(try decoder.decode(ChaosOperation.self, from: Data(line)))
        }
        return operations
    }
}
