import ArgumentParser
import ConsumerMetrics
import FeaturePipeline
import Foundation
import Logging
import ServiceLifecycle
import StreamConsumer
import UnixSignals

/// Runs the daemon (the default subcommand).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the daemon (configured by environment variables; see `consumerd --help`)."
    )

    func run() async throws {
        // Before anything is printed: from here on SIGHUP reloads the model, it never ends the process.
        let hangUps = await ReloadService.trapHangUps()
        let environment = ProcessInfo.processInfo.environment
        let configuration: DaemonConfiguration
        do {
            let logSetup = try LogSetup.fromEnvironment(environment)
            logSetup.bootstrap()
            configuration = try DaemonConfiguration.fromEnvironment(environment)
        } catch {
            throw exitForStartupFailure("\(error)")
        }
        let logger = Logger(label: "consumerd")

        let modelSettings = configuration.model
        let models: LoadedModels
        do {
            let spec = try ModelSpec.effective(environment: configuration.modelSpec, configFile: modelSettings.configFile)
            models = try await ModelLoader(fallbackToBaseline: modelSettings.fallbackToBaseline, registry: nil).load(spec)
        } catch let error as ModelSpecError {
            throw exitForStartupFailure("MODEL_CONFIG_FILE: \(error)")
        } catch {
            throw exitForStartupFailure("\(error)")
        }
        let model = models.set.active
        logger.info("model loaded", metadata: [
            "variant": "\(model.variant.rawValue)", "version": "\(model.version)", "path": "\(model.path)",
            "source": "\(models.activeSource.rawValue)",
            "shadow": "\(models.set.shadow.map { "\($0.variant.rawValue) \($0.version)" } ?? "none")",
        ])
        for note in models.notes { logger.warning("\(note)") }

        let metrics = ConsumerMetrics(
            variant: model.variant.rawValue, modelVersion: model.version, modelPath: model.path,
            buildVersion: BuildInfo.version
        )
        let switchboard = ModelSwitchboard()
        let modelBoard = ModelStatusBoard()
        let modelManager = ModelManager(
            settings: modelSettings,
            loader: ModelLoader(fallbackToBaseline: modelSettings.fallbackToBaseline, registry: nil),
            quality: configuration.quality, switchboard: switchboard, metrics: metrics, board: modelBoard, logger: logger,
            environmentSpec: configuration.modelSpec, initial: models
        )
        let documents = JSONDocuments()
        documents.register(path: "/model") { modelBoard.json() }
        let health = HealthState(livenessWindowSeconds: configuration.livenessWindowSeconds)
        health.setModelLoaded(true)
        let metricsServer = MetricsServer(
            configuration: MetricsServerConfiguration(host: configuration.metricsHost, port: configuration.metricsPort),
            metrics: metrics, health: health, logger: logger, documents: documents
        )
        let port: Int
        do {
            port = try await metricsServer.bind()
        } catch {
            throw exitForStartupFailure("METRICS_PORT: \(error)")
        }
        logger.notice("metrics listening", metadata: ["address": "\(configuration.metricsHost):\(port)"])
        printLine("METRICS=\(configuration.metricsHost):\(port)")

        var adminServer: AdminServer?
        if let admin = modelSettings.admin {
            let server = AdminServer(
                host: admin.host, port: admin.port, token: admin.token, handler: ModelAdmin(manager: modelManager), logger: logger
            )
            let adminPort: Int
            do {
                adminPort = try await server.bind()
            } catch {
                throw exitForStartupFailure("ADMIN_PORT: cannot listen on \(admin.host):\(admin.port): \(error)")
            }
            logger.notice("admin listening", metadata: ["address": "\(admin.host):\(adminPort)"])
            printLine("ADMIN=\(admin.host):\(adminPort)")
            adminServer = server
        }
        var topics = configuration.topics
        let shadowTopic = modelSettings.shadowTopic.map { topic in
            topics.extra.append(topic)
            return ExtraTopic(topics.extra.count - 1)
        }
        let outcomesTopic = configuration.quality.outcomesTopic.map { topic in
            topics.extra.append(topic)
            return ExtraTopic(topics.extra.count - 1)
        }

        var cluster: MockCluster?
        var demoSource: DemoTickSource?
        let bootstrapServers: String
        if let configured = configuration.kafka.bootstrapServers {
            bootstrapServers = configured
        } else {
            let demoFile: TickFile
            do {
                demoFile = try TickFile.load(path: configuration.demoTicksPath)
            } catch {
                throw exitForStartupFailure("DEMO_TICKS_PATH: \(error)")
            }
            let embedded = try EmbeddedCluster.start(topics: topics)
            cluster = embedded
            bootstrapServers = embedded.bootstrapServers
            logger.notice("embedded mock cluster started (KAFKA_BOOTSTRAP_SERVERS is unset)", metadata: [
                "bootstrap": "\(bootstrapServers)",
            ])
            printLine("BOOTSTRAP=\(bootstrapServers)")
            demoSource = DemoTickSource(
                file: demoFile, topic: topics.input, speedup: configuration.demoSpeedup,
                bootstrapServers: bootstrapServers, logger: logger,
                labelHorizonSeconds: configuration.quality.labelHorizonSeconds
            )
        }
        logConfiguration(configuration, bootstrapServers: bootstrapServers, logger: logger)

        let quality = try QualityStartup.resolve(configuration.quality, model: model, logger: logger)
        let handler = PredictionHandler(
            pipeline: RecordPipeline(
                model: model, maxRecordBytes: configuration.maxRecordBytes,
                maxKeys: configuration.stateMaxKeys, idleSeconds: configuration.stateIdleSeconds,
                labelSettings: quality.labelSettings),
            models: models.set,
            metrics: metrics,
            switchboard: switchboard,
            shadowTopic: shadowTopic,
            stallInjection: configuration.stallInjection,
            nonFiniteInjection: modelSettings.nonFiniteInjection,
            quality: quality, outcomesTopic: outcomesTopic
        )
        if modelSettings.nonFiniteInjection != nil {
            logger.warning("fault injection enabled: records containing CONSUMERD_FAULT_NAN_MARKER get a non-finite ML score")
        }
        if configuration.stallInjection != nil {
            logger.warning("fault injection enabled: records containing CONSUMERD_FAULT_STALL_MARKER stall processing")
        }
        let processorOptions = StreamProcessorOptions(
            topics: topics, maxInflight: configuration.maxInflight,
            stateRebuildMaxRecords: configuration.stateRebuildMaxRecords,
            guarantee: configuration.guarantee
        )
        let processor: StreamProcessor
        do {
            processor = try StreamProcessor(
                settings: configuration.kafka,
                bootstrapServers: bootstrapServers,
                options: processorOptions,
                handler: handler,
                observer: MetricsObserver(metrics: metrics, health: health, logger: logger),
                logger: logger
            )
        } catch {
            throw exitForStartupFailure("\(error)")
        }
        metrics.setLagSource(ProcessorLagSource(processor: processor))

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: metricsServer, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "metrics"),
            .init(service: ProcessorService(processor: processor), successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "processor"),
        ]
        services.append(.init(service: ReloadService(manager: modelManager, hangUps: hangUps), successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore, serviceName: "model-reload"))
        if let adminServer {
            services.append(.init(service: adminServer, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "admin"))
        }
        if let demoSource {
            services.append(.init(service: demoSource, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore, serviceName: "demo-ticks"))
        }
        var groupConfiguration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger
        )
        // The processor's own shutdown is bounded (flush, then commit and group exit); the group waits for it.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(Int(processorOptions.shutdownBudgetSeconds.rounded(.up)) + 2)
        let group = ServiceGroup(configuration: groupConfiguration)
        try await group.run()
        withExtendedLifetime((cluster, hangUps)) {}
        logger.info("consumerd exited cleanly")
    }

    private func logConfiguration(_ configuration: DaemonConfiguration, bootstrapServers: String, logger: Logger) {
        let overrides = (configuration.kafka.commonProperties + configuration.kafka.consumerProperties
            + configuration.kafka.producerProperties).map { "\($0.name)=\($0.displayValue)" }
        logger.info("configuration", metadata: [
            "bootstrap": "\(bootstrapServers)",
            "group_id": "\(configuration.kafka.groupId)",
            "group_instance_id": "\(configuration.kafka.groupInstanceId ?? "-")",
            "auto_offset_reset": "\(configuration.kafka.autoOffsetReset)",
            "topics": "\(configuration.topics.input) -> \(configuration.topics.output), dlq \(configuration.topics.deadLetter)",
            "model_variant": "\(configuration.modelVariant.rawValue)",
            "max_record_bytes": "\(configuration.maxRecordBytes)",
            "state_max_keys": "\(configuration.stateMaxKeys)",
            "state_idle_seconds": "\(configuration.stateIdleSeconds)",
            "processing_guarantee": "\(configuration.guarantee == .atLeastOnce ? "at_least_once" : "exactly_once")",
            "kafka_overrides": "\(overrides)",
        ])
    }
}
