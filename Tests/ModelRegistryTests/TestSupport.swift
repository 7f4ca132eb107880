import Foundation

enum RegistryTestPaths {
    /// The repository root (two levels above this target's directory).
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let modelFile = root.appendingPathComponent("config/models/xgb-volatility-5feat.json")
}

/// A fresh directory under the temporary directory, removed by the caller.
func temporaryDirectory(_ label: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(label)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A tracking address where nothing listens (port 1 on loopback): every request is refused at once.
let refusingTrackingURI = URL(string: "http://127.0.0.1:1")!
