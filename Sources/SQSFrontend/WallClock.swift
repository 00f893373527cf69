#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The server's time source. The engine never reads a clock; the shell stamps each command with this.
public protocol WallClock: Sendable {
    /// Unix epoch milliseconds.
    func nowMilliseconds() -> Int64
}

/// The system's real-time clock.
public struct SystemWallClock: WallClock {
    public init() {}

    public func nowMilliseconds() -> Int64 {
        #if canImport(Glibc)
            var spec = Glibc.timespec()
        #else
            var spec = Darwin.timespec()
        #endif
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
