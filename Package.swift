// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "consumerd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "consumerd", targets: ["consumerd"]),
        .library(name: "FeaturePipeline", targets: ["FeaturePipeline"]),
        .library(name: "StreamConsumer", targets: ["StreamConsumer"]),
        .library(name: "ConsumerMetrics", targets: ["ConsumerMetrics"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(
            name: "Crdkafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "FeaturePipeline",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "StreamConsumer",
            dependencies: [
                "Crdkafka",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ConsumerMetrics",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "consumerd",
            dependencies: [
                "FeaturePipeline",
                "StreamConsumer",
                "ConsumerMetrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            plugins: ["GitRevision"]
        ),
        // Bakes the git revision into consumerd (BuildInfo.revision; "unknown" outside a git checkout).
        .plugin(name: "GitRevision", capability: .buildTool()),
        .testTarget(name: "FeaturePipelineTests", dependencies: ["FeaturePipeline"]),
        .testTarget(name: "StreamConsumerTests", dependencies: ["StreamConsumer"]),
        .testTarget(name: "ConsumerMetricsTests", dependencies: ["ConsumerMetrics"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["consumerd", "StreamConsumer", "FeaturePipeline"]
        ),
    ]
)
