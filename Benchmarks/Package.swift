// swift-tools-version:6.2
import PackageDescription

// package-benchmark suites for Ferry's hot paths. A separate package so the main build and CI do not
// compile the benchmark tooling. Run from this directory: `swift package benchmark`.
let package = Package(
    name: "ferry-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "ferry", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "FerryBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ClusterSimulation", package: "ferry"),
                .product(name: "LZ4", package: "ferry"),
                .product(name: "QueueEngine", package: "ferry"),
                .product(name: "Raft", package: "ferry"),
                .product(name: "SQSWire", package: "ferry"),
                .product(name: "SegmentLog", package: "ferry"),
                .product(name: "SigV4", package: "ferry"),
            ],
            path: "Benchmarks/FerryBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ],
    swiftLanguageModes: [.v6]
)
