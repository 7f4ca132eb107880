// swift-tools-version:6.1
import PackageDescription

// Benchmarks for consumerd, kept out of the root package so that building or testing consumerd never pulls in
// the benchmark framework. Run from this directory:
//
//     swift package --scratch-path .build benchmark                 # micro-benchmarks (HotPath)
//     swift build -c release --scratch-path .build --product Passthrough
//     swift build -c release --scratch-path .build --product LatencyProbe
let package = Package(
    name: "consumerd-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "consumerd", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Micro-benchmarks of the per-record hot path (decode, features, predict, encode, all together).
        .executableTarget(
            name: "HotPath",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "FeaturePipeline", package: "consumerd"),
            ],
            path: "Benchmarks/HotPath",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
        // Benchmark A: consume → produce the same bytes through StreamConsumer.StreamProcessor, no processing.
        .executableTarget(
            name: "Passthrough",
            dependencies: [
                .product(name: "StreamConsumer", package: "consumerd"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Passthrough"
        ),
        // End-to-end latency: reads ticks.predictions and records event_time → arrival in an HdrHistogram.
        .executableTarget(
            name: "LatencyProbe",
            dependencies: [
                .product(name: "StreamConsumer", package: "consumerd"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Sources/LatencyProbe"
        ),
    ],
    swiftLanguageModes: [.v5]
)
