import ArgumentParser
import ConsumerMetrics
import FeaturePipeline
import Foundation
import Logging
import ServiceLifecycle
import StreamConsumer
import UnixSignals

/// Start-up shared by `consumerd run` and `consumerd demo`: configuration, model, metrics endpoint, Kafka, then
/// the service group until SIGTERM/SIGINT.
enum Daemon {
    /// The one line `consumerd run` stops with when no brokers are configured.
    static let missingBootstrap = "not set: set it to your brokers (host:port,…), or run `consumerd demo` for the embedded mock cluster with demo ticks"

    static func run(mode: DaemonMode) async throws {
        // Before anything is printed: from here on SIGHUP reloads the model, it never ends the process.
        let hangUps = await ReloadService.trapHangUps()
        let stopSignals = await StopSignals.trap()
        let environment = ProcessInfo.processInfo.environment
        let configuration: DaemonConfiguration
        do {
            let logSetup = try LogSetup.fromEnvironment(environment)
            logSetup.bootstrap()
            configuration = try DaemonConfiguration.fromEnvironment(environment)
        } catch {
            throw exitForStartupFailure("\(error)")
        }
        if mode == .run, configuration.kafka.bootstrapServers == nil {
            throw exitForStartupFailure("KAFKA_BOOTSTRAP_SERVERS: \(missingBootstrap)")
        }
        let logger = Logger(label: "consumerd")
        for violation in configuration.unsafeOverrides {
            logger.warning("UNSAFE_ALLOW_OVERRIDES=1: an override breaks the delivery guarantee", metadata: [
                "variable": "\(violation.property.source)", "property": "\(violation.property.name)",
                "required": "\(violation.required)",
            ])
        }

        let modelSettings = configuration.model
        // One loader for start-up and every reload (the registry client, the fallback setting).
        let loader = ModelLoader(
            fallbackToBaseline: modelSettings.fallbackToBaseline, registry: MLflowRegistryResolver.from(configuration.registry))
        let models: LoadedModels
        do {
            let spec = try ModelSpec.effective(environment: configuration.modelSpec, configFile: modelSettings.configFile)
            models = try await loader.load(spec)
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
            buildVersion: BuildInfo.version, buildRevision: BuildInfo.revision, librdkafkaVersion: BuildInfo.librdkafka
        )
        let switchboard = ModelSwitchboard()
        let modelBoard = ModelStatusBoard()
        let modelManager = ModelManager(
            settings: modelSettings,
            loader: loader,
            quality: configuration.quality, switchboard: switchboard, metrics: metrics, board: modelBoard, logger: logger,
            environmentSpec: configuration.modelSpec, initial: models
        )
        let documents = JSONDocuments()
        documents.register(path: "/model") { modelBoard.json() }
        let health = HealthState(livenessWindowSeconds: configuration.livenessWindowSeconds, mode: mode.rawValue)
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
        logger.notice("metrics listening", metadata: [
            "address": "\(configuration.metricsHost):\(port)", "status_page": "http://\(configuration.metricsHost):\(port)/",
        ])
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
        switch mode {
        case .run:
            bootstrapServers = configuration.kafka.bootstrapServers ?? ""
        case .demo:
            if configuration.kafka.bootstrapServers != nil {
                logger.notice("demo mode: KAFKA_BOOTSTRAP_SERVERS is ignored (use `consumerd run` for real brokers)")
            }
            let demoFile: TickFile
            do {
                demoFile = try TickFile.load(path: configuration.demoTicksPath)
            } catch {
                throw exitForStartupFailure("DEMO_TICKS_PATH: \(error)")
            }
            let embedded = try EmbeddedCluster.start(topics: topics)
            cluster = embedded
            bootstrapServers = embedded.bootstrapServers
            printLine("BOOTSTRAP=\(bootstrapServers)")
            demoSource = DemoTickSource(
                file: demoFile, topic: topics.input, speedup: configuration.demoSpeedup,
                bootstrapServers: bootstrapServers, logger: logger,
                labelHorizonSeconds: configuration.quality.labelHorizonSeconds
            )
        }
        Banner.log(
            configuration, mode: mode, model: model, modelSource: models.activeSource.rawValue, bootstrapServers: bootstrapServers, logger: logger)
        metrics.setStatusSection("daemon") {
            Banner.statusSection(configuration, mode: mode, bootstrapServers: bootstrapServers)
        }

        let quality = try QualityStartup.resolve(configuration.quality, model: model, logger: logger)
        if quality.reference != nil || quality.labelSettings != nil {
            // The status page's model-quality panel: drift and realised accuracy as /metrics has them.
            metrics.setStatusSection("model quality") { metrics.qualityStatus() }
        }
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
        var processorOptions = StreamProcessorOptions(
            topics: topics, maxInflight: configuration.maxInflight,
            stateRebuildMaxRecords: configuration.stateRebuildMaxRecords,
            guarantee: configuration.guarantee
        )
        processorOptions.handlerThread = configuration.processingThreads == 2
        processorOptions.fetchStallSeconds = configuration.fetchStallSeconds
        processorOptions.fetchFault = configuration.fetchFault
        if let fault = configuration.fetchFault {
            logger.warning("fault injection enabled: CONSUMERD_FAULT_PAUSE_PARTITION pauses a partition behind the engine", metadata: ["fault": "\(fault)"])
        }
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
        try await StopSignals.run(group, signals: stopSignals)
        withExtendedLifetime((cluster, hangUps, stopSignals)) {}
        logger.info("consumerd exited cleanly")
    }
}
