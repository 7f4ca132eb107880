import Foundation

/// A real MLflow tracking server (PyPI `mlflow`, installed by `scripts/ensure-mlflow`, path in `MLFLOW_BIN`) with a
/// SQLite backend store and a proxied artifact store in a fresh temporary directory, on a free loopback port.
final class MLflowServer {
    static var executable: String? {
        ProcessInfo.processInfo.environment["MLFLOW_BIN"].flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
    }

    let port: Int
    let directory: URL
    private(set) var process: Process?
    var trackingURI: URL { URL(string: "http://127.0.0.1:\(port)")! }
    var logFile: URL { directory.appendingPathComponent("server.log") }

    init() throws {
        port = try NoidaBroker.freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("registry-mlflow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("artifacts"), withIntermediateDirectories: true)
        try start()
    }

    deinit {
        terminateNow()
        try? FileManager.default.removeItem(at: directory)
    }

    func start() throws {
        guard let executable = Self.executable else { throw TestFailure("MLFLOW_BIN is not set") }
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "server",
            "--backend-store-uri", "sqlite:///\(directory.path)/mlflow.db",
            "--artifacts-destination", directory.appendingPathComponent("artifacts").path,
            "--serve-artifacts",
            "--host", "127.0.0.1", "--port", String(port),
            "--workers", "1",
        ]
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        // First start migrates the SQLite schema: allow for a loaded machine.
        let up = waitUntil(timeoutSeconds: 180) {
            guard process.isRunning else { return true }
            return httpGet("http://127.0.0.1:\(port)/health", timeoutSeconds: 5)?.status == 200
        }
        guard up, process.isRunning else {
            throw TestFailure("mlflow server did not answer on \(port); log:\n\(serverLog.suffix(3000))")
        }
    }

    var serverLog: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// Stops the server and its workers (they share its process group), and waits until nothing answers.
    func stop() {
        guard let process else { return }
        let group = process.processIdentifier
        if kill(-group, SIGTERM) != 0 { kill(group, SIGTERM) }
        let stopped = waitUntil(timeoutSeconds: 60) { !process.isRunning && kill(-group, 0) != 0 }
        if !stopped { terminateNow() }
        self.process = nil
        waitUntil(timeoutSeconds: 30) { !NoidaBroker.accepts(port: self.port) }
    }

    /// Ends the server at once, including any worker that left its process group (all have the unique temporary
    /// directory on their command line).
    func terminateNow() {
        if let process {
            let group = process.processIdentifier
            if kill(-group, SIGKILL) != 0 { kill(group, SIGKILL) }
        }
        process = nil
        let pkill = Process()
        pkill.executableURL = URL(fileURLWithPath: "/usr/bin/pkill")
        pkill.arguments = ["-KILL", "-f", directory.path]
        try? pkill.run()
        pkill.waitUntilExit()
    }

    /// Runs `scripts/mlflow-register-test-models.py` with the venv's Python; returns its JSON answer.
    func registerTestModels(name: String) throws -> RegisteredTestModels {
        guard let executable = Self.executable else { throw TestFailure("MLFLOW_BIN is not set") }
        let python = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("python")
        let process = Process()
        process.executableURL = python
        process.arguments = [
            TestPaths.repositoryRoot.appendingPathComponent("scripts/mlflow-register-test-models.py").path,
            trackingURI.absoluteString,
            TestPaths.repositoryRoot.appendingPathComponent("config/models/xgb-volatility-5feat.json").path,
            name,
        ]
        let outputFile = directory.appendingPathComponent("register.out")
        let errorFile = directory.appendingPathComponent("register.err")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        process.standardInput = FileHandle.nullDevice
        var environment = ProcessInfo.processInfo.environment
        environment["MLFLOW_TRACKING_URI"] = trackingURI.absoluteString
        process.environment = environment
        try process.run()
        guard waitUntil(timeoutSeconds: 300, { !process.isRunning }) else {
            process.terminate()
            throw TestFailure("registering the test models did not finish in 300 s")
        }
        let output = (try? Data(contentsOf: outputFile)) ?? Data()
        guard process.terminationStatus == 0, let line = String(decoding: output, as: UTF8.self).split(separator: "\n").last,
            let models = try? JSONDecoder().decode(RegisteredTestModels.self, from: Data(line.utf8))
        else {
            let errors = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
            throw TestFailure("registering the test models failed (exit \(process.terminationStatus)): \(errors.suffix(3000))")
        }
        return models
    }
}

/// The versions `scripts/mlflow-register-test-models.py` created.
struct RegisteredTestModels: Decodable {
    var v1: Int
    var v2: Int
    var v3: Int
    var v4: Int
    var sources: [String: String]
}
