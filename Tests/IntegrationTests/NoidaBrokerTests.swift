import Foundation
import StreamConsumer
import Testing

/// noida-db: an independent Kafka-protocol broker (PyPI) that keeps its data across its own restart and stores
/// transactional offset commits — what the 2.0.2 mock cannot do. `scripts/test` installs it
/// (`scripts/ensure-noida`) and passes its path in `NOIDA_DB`.
final class NoidaBroker {
    static var executable: String? {
        ProcessInfo.processInfo.environment["NOIDA_DB"].flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
    }

    let port: Int
    let dataDirectory: URL
    private(set) var process: Process?
    var bootstrap: String { "127.0.0.1:\(port)" }

    init() throws {
        port = try Self.freePort()
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("noida-\(UUID().uuidString)")
        try start()
        // noida-db creates topics (1 partition) when a producer asks for them; the daemon subscribes to existing ones.
        let producer = try KafkaProducer(bootstrapServers: bootstrap, properties: [
            KafkaProperty(name: "receive.message.max.bytes", value: "2147483647", source: "test"),
        ])
        for topic in ["ticks.features", "ticks.predictions", "ticks.features.dlq"] {
            let created = waitUntil(timeoutSeconds: 30) { ((try? producer.requestMetadata(topic: topic)) ?? 0) > 0 }
            if !created { throw TestFailure("noida-db did not create \(topic)") }
        }
    }

    deinit {
        terminateNow()
        try? FileManager.default.removeItem(at: dataDirectory)
    }

    /// `noida-db` is a Python launcher that starts the server as a child: signal the whole process group (the
    /// launcher leads its own), or the server outlives the test.
    private static func signalGroup(of process: Process, _ signal: Int32) {
        let group = process.processIdentifier
        if kill(-group, signal) != 0 { kill(group, signal) }
    }

    /// Ends the broker and its server process at once (tests call it on every exit path).
    func terminateNow() {
        if let process { Self.signalGroup(of: process, SIGKILL) }
        process = nil
        // Every server this broker started (a restart starts another) has the unique data directory on its
        // command line: end any that escaped its launcher's process group.
        let pkill = Process()
        pkill.executableURL = URL(fileURLWithPath: "/usr/bin/pkill")
        pkill.arguments = ["-KILL", "-f", dataDirectory.path]
        try? pkill.run()
        pkill.waitUntilExit()
    }

    private static func groupIsGone(of process: Process) -> Bool {
        kill(-process.processIdentifier, 0) != 0
    }

    func start() throws {
        guard let executable = Self.executable else { throw TestFailure("NOIDA_DB is not set") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["start", "--only", "kafka", "--kafka-port", String(port), "--data-dir", dataDirectory.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        guard waitUntil(timeoutSeconds: 30, { Self.accepts(port: self.port) }) else { throw TestFailure("noida-db did not listen on \(port)") }
    }

    /// SIGTERM: noida-db writes its data directory and exits.
    func stop() {
        guard let process else { return }
        Self.signalGroup(of: process, SIGTERM)
        waitUntil(timeoutSeconds: 30) { !process.isRunning && Self.groupIsGone(of: process) }
        self.process = nil
    }

    /// Settings every client of noida-db needs (its fetch responses ignore the requested size).
    var clientEnvironment: [String: String] {
        ["KAFKA_CONF_RECEIVE_MESSAGE_MAX_BYTES": "2147483647"]
    }

    static func freePort() throws -> Int {
        let socket = Darwin_or_Glibc_socket()
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw TestFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func accepts(port: Int) -> Bool {
        let socket = Darwin_or_Glibc_socket()
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

private func Darwin_or_Glibc_socket() -> Int32 {
    #if canImport(Glibc)
    socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    socket(AF_INET, SOCK_STREAM, 0)
    #endif
}

@Suite(.serialized, .enabled(if: NoidaBroker.executable != nil, "needs noida-db: run through scripts/test"))
struct NoidaBrokerTests {
    static func environment(_ broker: NoidaBroker, _ extra: [String: String] = [:]) -> [String: String] {
        daemonEnvironment(bootstrap: broker.bootstrap, extra: broker.clientEnvironment.merging([
            // noida-db never expires a killed member's session; static membership hands the partitions back.
            "KAFKA_GROUP_INSTANCE_ID": "consumerd-test-0",
            "LOG_LEVEL": "notice",
        ]) { _, new in new }.merging(extra) { _, new in new })
    }

    @Test func exactlyOnceSurvivesKillNineWithoutDuplicates() throws {
        let broker = try NoidaBroker()
        defer { broker.terminateNow() }
        let cycles = 5
        var produced = 0
        let eos = ["PROCESSING_GUARANTEE": "exactly_once"]
        for cycle in 1...cycles {
            let daemon = try ChildProcess(name: "consumerd-eos-\(cycle)", arguments: [], environment: Self.environment(broker, eos))
            let metrics = try #require(daemon.waitForLine(prefix: "METRICS="))
            #expect(waitUntil(timeoutSeconds: 60) { httpGet("http://\(metrics)/readyz")?.status == 200 }, "cycle \(cycle) never ready: \(daemon.stderr.suffix(1500))")
            let burst = try ChildProcess(
                name: "replay",
                arguments: ["replay", ReferenceData.tickFile.path, "--bootstrap-servers", broker.bootstrap, "--rate", "5000", "--loop", "--products", "16", "--count", "8000"],
                environment: broker.clientEnvironment
            )
            usleep(UInt32(300_000 + cycle * 250_000))
            #expect(daemon.stop(signal: SIGKILL) != nil)
            #expect(burst.waitForExit(timeoutSeconds: 60) == 0, "replay failed: \(burst.stderr.suffix(500))")
            produced += 8000
        }
        let last = try ChildProcess(name: "consumerd-eos-final", arguments: [], environment: Self.environment(broker, eos))
        let metrics = try #require(last.waitForLine(prefix: "METRICS="))
        #expect(FaultInjectionTests.waitUntilDrained(metrics), "never drained: \(last.stderr.suffix(2000))")
        let audit = try DaemonIntegrationTests.runAudit(
            bootstrap: broker.bootstrap,
            environment: broker.clientEnvironment.merging(["KAFKA_CONSUMER_CONF_ISOLATION_LEVEL": "read_committed"]) { _, new in new }
        )
        print("exactly-once, kill -9 × \(cycles) on noida-db: inputs \(audit.inputs), outputs \(audit.outputs), lost \(audit.lost.count), duplicated \(audit.duplicated.count), mismatched \(audit.mismatched.count)")
        #expect(audit.inputs == produced)
        #expect(audit.lost.count == 0 && audit.mismatched.count == 0 && audit.duplicated.count == 0, "\(audit)")
        #expect(last.stop(signal: SIGTERM, timeoutSeconds: 10) == 0)
    }

    @Test func brokerRestartIsSurvivedWithoutLoss() throws {
        let broker = try NoidaBroker()
        defer { broker.terminateNow() }
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: Self.environment(broker))
        let metrics = try #require(daemon.waitForLine(prefix: "METRICS="))
        #expect(waitUntil(timeoutSeconds: 60) { httpGet("http://\(metrics)/readyz")?.status == 200 })
        let replay = try ChildProcess(
            name: "replay",
            arguments: ["replay", ReferenceData.tickFile.path, "--bootstrap-servers", broker.bootstrap, "--rate", "5000", "--loop", "--products", "16", "--count", "20000"],
            environment: broker.clientEnvironment
        )
        // Restart the broker in the middle of the stream (same data directory and port).
        #expect(waitUntil(timeoutSeconds: 30) {
            (metricValue(httpGet("http://\(metrics)/metrics")?.body ?? "", "volatility_consumer_messages_processed_total") ?? 0) >= 3000
        })
        broker.stop()
        try broker.start()
        #expect(replay.waitForExit(timeoutSeconds: 120) == 0, "the replay did not get its records delivered after the restart: \(replay.stderr.suffix(500))")
        #expect(FaultInjectionTests.waitUntilDrained(metrics), "the daemon did not recover from the broker restart: \(daemon.stderr.suffix(2000))")
        let audit = try DaemonIntegrationTests.runAudit(bootstrap: broker.bootstrap, environment: broker.clientEnvironment)
        print("noida-db restart under load: inputs \(audit.inputs), outputs \(audit.outputs), lost \(audit.lost.count), duplicated \(audit.duplicated.count), mismatched \(audit.mismatched.count)")
        #expect(audit.inputs == 20_000)
        #expect(audit.lost.count == 0 && audit.mismatched.count == 0 && audit.unexpected.count == 0, "\(audit)")
        #expect(daemon.stop(signal: SIGTERM, timeoutSeconds: 10) == 0)
    }
}
