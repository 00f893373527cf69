// swift-tools-version:6.2
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "ferry",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ferry", targets: ["ferry"]),
        .library(name: "QueueEngine", targets: ["QueueEngine"]),
        .library(name: "SQSFrontend", targets: ["SQSFrontend"]),
        .library(name: "SigV4", targets: ["SigV4"]),
        .library(name: "SQSWire", targets: ["SQSWire"]),
        .library(name: "LZ4", targets: ["LZ4"]),
        .library(name: "SegmentLog", targets: ["SegmentLog"]),
        .library(name: "Raft", targets: ["Raft"]),
        .library(name: "Placement", targets: ["Placement"]),
        .library(name: "PeerTransport", targets: ["PeerTransport"]),
        .library(name: "Cluster", targets: ["Cluster"]),
        // For the package-benchmark suite: the driver's hot path on an in-process group (`ShardGroupBench`).
        .library(name: "ClusterSimulation", targets: ["ClusterSimulation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .target(name: "LZ4", dependencies: ["CLZ4"], swiftSettings: strictSettings),
        .target(
            name: "SegmentLog",
            dependencies: ["LZ4", .product(name: "DequeModule", package: "swift-collections")],
            swiftSettings: strictSettings
        ),
        .target(name: "Raft", swiftSettings: strictSettings),
        .target(name: "Placement", swiftSettings: strictSettings),
        .target(
            name: "PeerTransport",
            dependencies: [
                "SegmentLog",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strictSettings
        ),
        .target(name: "TestSupport", dependencies: ["SegmentLog", "Raft"], swiftSettings: strictSettings),
        .target(
            name: "Cluster",
            dependencies: [
                "PeerTransport",
                "Placement",
                "QueueEngine",
                "Raft",
                "SegmentLog",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ClusterSimulation",
            dependencies: [
                "Cluster",
                "PeerTransport",
                "Placement",
                "QueueEngine",
                "Raft",
                "SegmentLog",
                "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "QueueEngine",
            dependencies: [
                "Placement",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SigV4",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .target(name: "SQSWire", swiftSettings: strictSettings),
        .target(
            name: "SQSFrontend",
            dependencies: [
                "Cluster",
                "QueueEngine",
                "SegmentLog",
                "SigV4",
                "SQSWire",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "FerryBench",
            dependencies: [
                "SigV4",
                "SQSWire",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "FerryChaos",
            dependencies: [
                "FerryBench",
                "Placement",
                "Raft",
                "SigV4",
                "SQSWire",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "ferry",
            dependencies: [
                "Cluster",
                "ClusterSimulation",
                "FerryBench",
                "FerryChaos",
                "PeerTransport",
                "Placement",
                "Raft",
                "SegmentLog",
                "SQSFrontend",
                "QueueEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "QueueEngineTests",
            dependencies: ["Placement", "QueueEngine", .product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FerryBenchTests",
            dependencies: [
                "Cluster",
                "FerryBench",
                "QueueEngine",
                "SQSFrontend",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SigV4Tests",
            dependencies: ["SigV4"],
            exclude: ["make_vectors.py"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "LZ4Tests", dependencies: ["LZ4"], swiftSettings: strictSettings),
        .testTarget(
            name: "FerryChaosTests",
            dependencies: ["FerryChaos", .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PeerTransportTests",
            dependencies: [
                "PeerTransport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ClusterTests",
            dependencies: [
                "Cluster",
                "PeerTransport",
                "Placement",
                "QueueEngine",
                "Raft",
                "SegmentLog",
                "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ClusterSimulationTests", dependencies: ["ClusterSimulation", "Cluster", "QueueEngine", "Raft"],
            swiftSettings: strictSettings),
        .testTarget(name: "PlacementTests", dependencies: ["Placement"], swiftSettings: strictSettings),
        .testTarget(name: "RaftTests", dependencies: ["Raft", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "SegmentLogTests", dependencies: ["SegmentLog", "TestSupport", "LZ4"], swiftSettings: strictSettings),
        .testTarget(name: "SQSWireTests", dependencies: ["SQSWire"], swiftSettings: strictSettings),
        .testTarget(
            name: "SQSFrontendTests",
            dependencies: [
                "Cluster",
                "SQSFrontend",
                "SegmentLog",
                "TestSupport",
                "SQSWire",
                "QueueEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
