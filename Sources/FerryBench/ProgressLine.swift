import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The live progress line drawn on standard error once a second.
enum ProgressLine {
    static func run(state: BenchState, configuration: BenchConfiguration) async {
        var previous = (sent: 0, consumed: 0)
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let (elapsed, sent, consumed, inFlight, errors, producing) = state.values.withLock { values in
                (
                    Double(MonotonicTime.microseconds() - values.startedAt) / 1e6, values.checker.sentCount,
                    values.consumed, values.inFlightRequests, values.errors.values.reduce(0, +),
                    values.producersRunning > 0
                )
            }
            var line = String(format: "%6.1fs", elapsed)
            if let duration = configuration.durationSeconds, producing {
                line += String(format: " / %.0fs", duration)
            } else if let messages = configuration.messages, producing {
                line += " | \(sent)/\(messages) sent"
            }
            line +=
                " | sent \(sent) (\(sent - previous.sent)/s) | received \(consumed) (\(consumed - previous.consumed)/s)"
            line += " | in flight \(inFlight) | errors \(errors)" + (producing ? "" : " | draining")
            previous = (sent, consumed)
            write("\r\u{1B}[K" + line)
        }
    }

    static func finish() { write("\r\u{1B}[K") }

    private static func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
