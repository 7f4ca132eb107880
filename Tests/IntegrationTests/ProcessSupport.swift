import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// Paths the integration tests need: the built `consumerd` binary and the repository root (its working directory).
enum TestPaths {
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var fixtures: URL { repositoryRoot.appendingPathComponent("Tests/Fixtures") }

    /// The `consumerd` executable SwiftPM built next to the test bundle (`CONSUMERD_BINARY` overrides).
    static var consumerd: URL {
        if let override = ProcessInfo.processInfo.environment["CONSUMERD_BINARY"] {
            return URL(fileURLWithPath: override)
        }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("consumerd")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return repositoryRoot.appendingPathComponent(".build/debug/consumerd")
    }
}

/// A child process whose output lines are collected as they arrive, so tests can wait for a line instead of
/// sleeping.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let stdoutLines = Shared<[String]>([])
    private let stderrText = Shared<String>("")
    /// Pipes (stdout, stderr) whose end of file was read: until both are, output may still be in flight.
    private let pipesAtEnd = Shared<Int>(0)
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    let name: String

    init(name: String, arguments: [String], environment: [String: String] = [:], inheritEnvironment: Bool = true) throws {
        self.name = name
        process.executableURL = TestPaths.consumerd
        process.arguments = arguments
        process.currentDirectoryURL = TestPaths.repositoryRoot
        var env = inheritEnvironment ? ProcessInfo.processInfo.environment : [:]
        for key in env.keys where key.hasPrefix("KAFKA_") || key.hasPrefix("MODEL_") || key.hasPrefix("METRICS_") {
            env[key] = nil
        }
        env.merge(environment) { _, new in new }
        process.environment = env
        let out = stdoutPipe
        let err = stderrPipe
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdinPipe
        let pending = Shared("")
        let lines = stdoutLines
        let atEnd = pipesAtEnd
        try process.run()
        // Each pipe is read by a thread of its own (from here on: until now the pipe buffers), blocking in read(2)
        // until end of file, not through `readabilityHandler`: that is a dispatch source per pipe, and with many
        // children started and ended in parallel the test runner crashed in libdispatch's event loop
        // (`_dispatch_event_loop_drain`, signal 11, CI 2026-12-01) even with every handler removed at end of file.
        // The thread keeps its `FileHandle`, so the descriptor stays open (and cannot be reused) until it is done.
        Self.readUntilEnd(out.fileHandleForReading, name: "\(name)-out") { data in
            pending.withLock { pending in
                pending += String(decoding: data, as: UTF8.self)
                while let newline = pending.firstIndex(of: "\n") {
                    let line = String(pending[..<newline])
                    pending = String(pending[pending.index(after: newline)...])
                    lines.withLock { $0.append(line) }
                }
            }
        } atEnd: {
            atEnd.withLock { $0 += 1 }
        }
        let errors = stderrText
        Self.readUntilEnd(err.fileHandleForReading, name: "\(name)-err") { data in
            errors.withLock { text in
                text += String(decoding: data, as: UTF8.self)
                if text.utf8.count > 4_000_000 { text = String(text.suffix(1_000_000)) }
            }
        } atEnd: {
            atEnd.withLock { $0 += 1 }
        }
    }

    deinit {
        if process.isRunning {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
        }
    }

    /// Starts a thread that passes what `handle` reads to `body` until end of file (the child and every process
    /// that inherited the pipe have closed it), then calls `atEnd`.
    private static func readUntilEnd(
        _ handle: FileHandle, name: String, _ body: @escaping @Sendable (Data) -> Void, atEnd: @escaping @Sendable () -> Void
    ) {
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    body(Data(buffer[0..<count]))
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            atEnd()
        }
        thread.name = name
        thread.start()
    }

    var stderr: String { stderrText.withLock { $0 } }
    var stdout: [String] { stdoutLines.withLock { $0 } }

    /// Waits for a stdout line starting with `prefix`; returns the rest of that line.
    func waitForLine(prefix: String, timeoutSeconds: Double = 60) -> String? {
        var found: String?
        _ = waitUntil(timeoutSeconds: timeoutSeconds) {
            found = stdoutLines.withLock { $0.first { $0.hasPrefix(prefix) } }
            return found != nil || !process.isRunning
        }
        return found.map { String($0.dropFirst(prefix.count)) }
    }

    /// Every thread's stack of the running child (via gdb, when installed), for a test that finds it hung.
    func threadStacks() -> String {
        guard process.isRunning, FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb") else { return "(no stacks)" }
        let gdb = Process()
        gdb.executableURL = URL(fileURLWithPath: "/usr/bin/gdb")
        gdb.arguments = ["-p", String(process.processIdentifier), "-batch", "-ex", "thread apply all bt 25"]
        let output = Pipe()
        gdb.standardOutput = output
        gdb.standardError = FileHandle.nullDevice
        do { try gdb.run() } catch { return "(gdb failed: \(error))" }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        gdb.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func send(_ line: String) {
        stdinPipe.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    /// Sends `signal` and waits for the exit; returns the exit status, or nil if it did not exit in time.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeoutSeconds: Double = 15) -> Int32? {
        if process.isRunning { kill(process.processIdentifier, signal) }
        return waitForExit(timeoutSeconds: timeoutSeconds)
    }

    /// Waits for the exit, then (up to 10 s more) for the last output to be read: on a loaded machine the pipes'
    /// handlers can lag the exit, and a test would see a report the process did print as missing.
    func waitForExit(timeoutSeconds: Double) -> Int32? {
        guard waitUntil(timeoutSeconds: timeoutSeconds, { !process.isRunning }) else { return nil }
        waitUntil(timeoutSeconds: 10) { pipesAtEnd.withLock { $0 } >= 2 }
        return process.terminationStatus
    }
}

/// Polls `condition` every `pollSeconds` (20 ms) until it holds or the deadline passes.
@discardableResult
func waitUntil(timeoutSeconds: Double, pollSeconds: Double = 0.02, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(UInt32(pollSeconds * 1_000_000))
    }
    return condition()
}

/// A standalone mock cluster (`consumerd mock-cluster`) in its own process, so daemons can be killed and
/// restarted against the same broker.
final class MockClusterProcess {
    let child: ChildProcess
    let bootstrap: String

    init(partitions: Int = 1, brokers: Int = 1, topics: [String] = ["ticks.features", "ticks.predictions", "ticks.features.dlq"]) throws {
        child = try ChildProcess(
            name: "mock-cluster",
            arguments: ["mock-cluster", "--brokers", String(brokers), "--partitions", String(partitions), "--exit-on-eof"]
                + topics.flatMap { ["--topic", $0] }
        )
        guard let bootstrap = child.waitForLine(prefix: "BOOTSTRAP=", timeoutSeconds: 30) else {
            throw TestFailure("mock cluster did not start: \(child.stderr)")
        }
        self.bootstrap = bootstrap
    }

    deinit {
        child.stop(signal: SIGKILL)
    }

    /// Sends a control command (`down 1`, `up 1`, `error 0 6 5`, …) and waits for its `ok`/`error` reply.
    @discardableResult
    func command(_ line: String) -> String? {
        let repliesBefore = child.stdout.filter { $0.hasPrefix("ok") || $0.hasPrefix("error") }.count
        child.send(line)
        var reply: String?
        waitUntil(timeoutSeconds: 30) {
            let replies = child.stdout.filter { $0.hasPrefix("ok") || $0.hasPrefix("error") }
            if replies.count > repliesBefore { reply = replies[repliesBefore] }
            return reply != nil
        }
        return reply
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Environment for a daemon under test against `bootstrap`: fast group rejoin, a free metrics port.
func daemonEnvironment(bootstrap: String, extra: [String: String] = [:]) -> [String: String] {
    [
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_CONF_SESSION_TIMEOUT_MS": "6000",
        "KAFKA_CONF_HEARTBEAT_INTERVAL_MS": "500",
        "KAFKA_STATISTICS_INTERVAL_MS": "1000",
        "METRICS_PORT": "0",
        "METRICS_HOST": "127.0.0.1",
        "LOG_LEVEL": "info",
    ].merging(extra) { _, new in new }
}

/// GETs a URL on loopback; returns status and body, or nil when no answer came within `timeoutSeconds` (the
/// request is then cancelled). Status 0 means the request failed (e.g. connection refused).
func httpGet(_ url: String, timeoutSeconds: Double = 10) -> (status: Int, body: String)? {
    let result = Mutex<(Int, String)?>(nil)
    let done = DispatchSemaphore(value: 0)
    guard let target = URL(string: url) else { return nil }
    var request = URLRequest(url: target)
    request.timeoutInterval = timeoutSeconds
    let task = URLSession.shared.dataTask(with: request) { data, response, _ in
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        result.withLock { $0 = (status, String(decoding: data ?? Data(), as: UTF8.self)) }
        done.signal()
    }
    task.resume()
    if done.wait(timeout: .now() + timeoutSeconds) == .timedOut {
        task.cancel()
        return nil
    }
    return result.withLock { $0 }.map { (status: $0.0, body: $0.1) }
}

/// The value of an unlabelled (or exactly labelled) sample in a Prometheus text exposition.
func metricValue(_ exposition: String, _ series: String) -> Double? {
    for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1).trimmingCharacters(in: .whitespaces))
    }
    return nil
}

/// A mutex-protected value that closures can share (``Mutex`` itself cannot be captured).
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }
}
