import ArgumentParser
import Foundation
import StreamConsumer

/// `consumerd mock-cluster`: a standalone librdkafka mock cluster for tests and benchmarks in other processes.
struct MockClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-cluster",
        abstract: "Run librdkafka's mock Kafka cluster; print BOOTSTRAP=… first; take fault commands on stdin.",
        discussion: """
            Commands, one per line on standard input (each answered by a line starting with "ok" or "error"):
              down ID                      take broker ID down
              up ID                        bring broker ID back
              leader TOPIC PARTITION ID    move a partition's leader
              error APIKEY ERRCODE [COUNT] fail the next COUNT (default 1) requests of an API (Produce 0, Fetch 1, …)
              topic NAME PARTITIONS        create a topic
              coordinator group|transaction KEY ID   make broker ID the coordinator of KEY
            The cluster runs until the process is terminated (or standard input closes, with --exit-on-eof).
            """
    )

    @Option(help: "Number of brokers.")
    var brokers = 1

    @Option(help: "Partitions of each --topic.")
    var partitions = 4

    @Option(help: "Topics to create at start (repeatable).")
    var topic: [String] = []

    @Flag(help: "Exit when standard input closes (for tests: the cluster never outlives its parent).")
    var exitOnEof = false

    func run() throws {
        let cluster: MockCluster
        do {
            cluster = try MockCluster(brokers: brokers)
            for name in topic { try cluster.createTopic(name, partitions: partitions) }
        } catch {
            throw exitForStartupFailure("\(error)")
        }
        printLine("BOOTSTRAP=\(cluster.bootstrapServers)")
        while let line = readLine() {
            let words = line.split(separator: " ").map(String.init)
            guard let command = words.first else { continue }
            printLine(MockClusterControl.apply(command: command, arguments: Array(words.dropFirst()), to: cluster))
        }
        if exitOnEof { return }
        // Standard input closed (e.g. started in the background): serve until terminated.
        while true { sleep(3600) }
    }
}

/// Parses and applies one control command to the cluster.
enum MockClusterControl {
    static func apply(command: String, arguments: [String], to cluster: MockCluster) -> String {
        do {
            switch (command, arguments.count) {
            case ("down", 1):
                try cluster.setBrokerDown(try int32(arguments[0]))
            case ("up", 1):
                try cluster.setBrokerUp(try int32(arguments[0]))
            case ("leader", 3):
                try cluster.setLeader(topic: arguments[0], partition: try int32(arguments[1]), broker: try int32(arguments[2]))
            case ("error", 2), ("error", 3):
                guard let apiKey = Int16(arguments[0]) else { return "error: APIKEY must be a number" }
                let count = arguments.count == 3 ? Int(arguments[2]) ?? 1 : 1
                cluster.pushRequestErrors(apiKey: apiKey, errorCode: try int32(arguments[1]), count: count)
            case ("coordinator", 3):
                try cluster.setCoordinator(kind: arguments[0], key: arguments[1], broker: try int32(arguments[2]))
            case ("topic", 2):
                guard let partitions = Int(arguments[1]), partitions > 0 else { return "error: PARTITIONS must be positive" }
                try cluster.createTopic(arguments[0], partitions: partitions)
            default:
                return "error: unknown command '\(([command] + arguments).joined(separator: " "))'"
            }
            return "ok"
        } catch {
            return "error: \(error)"
        }
    }

    private struct NotANumber: Error, CustomStringConvertible {
        var text: String
        var description: String { "'\(text)' is not a number" }
    }

    private static func int32(_ text: String) throws -> Int32 {
        guard let value = Int32(text) else { throw NotANumber(text: text) }
        return value
    }
}
