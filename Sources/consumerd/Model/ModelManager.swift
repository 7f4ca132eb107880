import ConsumerMetrics
import FeaturePipeline
import Foundation
import Logging

/// Owns the model lifecycle: loads a new set on a reload or an admin request (off the processing thread),
/// hands it to the processing thread through the ``ModelSwitchboard``, and keeps metrics, logs and `/model`
/// true to the models in force. Reloads are serialised (an actor); a failed one keeps the models in force.
actor ModelManager {
    /// The answer to a reload or an admin request.
    enum Outcome: Sendable {
        case loaded(ModelStatus)
        case failed(String, ModelStatus)
    }

    private let settings: ModelSettings
    private let loader: ModelLoader
    /// Resolves the quality monitoring (reference, drift, label threshold) of each newly loaded active model.
    private let quality: QualityConfiguration
    private let switchboard: ModelSwitchboard
    private let metrics: ConsumerMetrics
    private let board: ModelStatusBoard
    private let logger: Logger
    /// The spec from the environment at start-up: a reload applies `MODEL_CONFIG_FILE` over it.
    private let environmentSpec: ModelSpec
    private var current: LoadedModels
    private var setBy = ModelTrigger.startup
    private var configuredFrom: String
    private var lastReload: ModelStatus.Reload?

    init(
        settings: ModelSettings, loader: ModelLoader, quality: QualityConfiguration, switchboard: ModelSwitchboard,
        metrics: ConsumerMetrics, board: ModelStatusBoard, logger: Logger, environmentSpec: ModelSpec, initial: LoadedModels
    ) {
        self.settings = settings
        self.loader = loader
        self.quality = quality
        self.switchboard = switchboard
        self.metrics = metrics
        self.board = board
        self.logger = logger
        self.environmentSpec = environmentSpec
        self.current = initial
        self.configuredFrom = settings.configFile ?? "environment"
        Self.exportModels(initial, metrics: metrics)
        board.publish(ModelStatus(
            models: initial, setBy: .startup, configuredFrom: configuredFrom,
            fallbackEnabled: settings.fallbackToBaseline, lastReload: nil
        ))
    }

    /// SIGHUP or `POST /admin/reload`: the start-up environment's spec with `MODEL_CONFIG_FILE` read again.
    func reload(trigger: ModelTrigger) async -> Outcome {
        let spec: ModelSpec
        do {
            spec = try ModelSpec.effective(environment: environmentSpec, configFile: settings.configFile)
        } catch {
            return fail(trigger: trigger, "\(error)")
        }
        return await load(spec, trigger: trigger, configuredFrom: settings.configFile ?? "environment")
    }

    /// `POST /admin/model`: the JSON body's keys over the spec in force; lasts until the next reload or restart.
    func apply(requestBody: Data) async -> Outcome {
        let spec: ModelSpec
        do {
            spec = try current.spec.applying(json: requestBody, origin: "request body")
        } catch {
            return fail(trigger: .adminRequest, "\(error)")
        }
        return await load(spec, trigger: .adminRequest, configuredFrom: "admin request")
    }

    func status() -> ModelStatus { makeStatus() }

    private func load(_ spec: ModelSpec, trigger: ModelTrigger, configuredFrom: String) async -> Outcome {
        let loaded: LoadedModels
        let monitoring: QualityConfiguration.Resolved
        do {
            loaded = try await loader.load(spec)
        } catch {
            return fail(trigger: trigger, "\(error)")
        }
        do {
            monitoring = try quality.resolve(for: loaded.set.active)
        } catch {
            return fail(trigger: trigger, "\(loaded.set.active.path): \(error)")
        }
        current = loaded
        setBy = trigger
        self.configuredFrom = configuredFrom
        switchboard.offer(ModelSwitch(set: loaded.set, quality: monitoring))
        let now = Date()
        lastReload = ModelStatus.Reload(result: "ok", trigger: trigger, at: ModelStatus.rfc3339(now), error: nil)
        Self.exportModels(loaded, metrics: metrics)
        let set = loaded.set
        logger.notice("model reloaded", metadata: [
            "trigger": "\(trigger.rawValue)", "variant": "\(set.active.variant.rawValue)", "version": "\(set.active.version)",
            "path": "\(set.active.path)", "source": "\(loaded.activeSource.rawValue)",
            "shadow": "\(set.shadow.map { "\($0.variant.rawValue) \($0.version)" } ?? "none")",
            "fallback_active": "\(set.fallbackActive != nil)",
        ])
        for note in loaded.notes { logger.warning("\(note)") }
        let status = makeStatus()
        board.publish(status)
        // Counted last: whoever sees the count go up (an operator, an alert, a test) finds `/model` and
        // `model_info` already showing the models it counts.
        metrics.model.recordReload(.ok, at: now.timeIntervalSince1970)
        return .loaded(status)
    }

    private func fail(trigger: ModelTrigger, _ message: String) -> Outcome {
        let now = Date()
        lastReload = ModelStatus.Reload(result: "error", trigger: trigger, at: ModelStatus.rfc3339(now), error: message)
        logger.error("model reload failed; the models in force are kept: \(message)")
        let status = makeStatus()
        board.publish(status)
        metrics.model.recordReload(.error, at: now.timeIntervalSince1970)
        return .failed(message, status)
    }

    private func makeStatus() -> ModelStatus {
        ModelStatus(
            models: current, setBy: setBy, configuredFrom: configuredFrom,
            fallbackEnabled: settings.fallbackToBaseline, lastReload: lastReload
        )
    }

    /// `model_info`, the fallback gauge and counter, and the model source, for a set just put in force.
    static func exportModels(_ models: LoadedModels, metrics: ConsumerMetrics) {
        let active = models.set.active
        metrics.setModelInfo(variant: ModelVariantLabel(active.variant), version: active.version, path: active.path)
        metrics.model.setFallbackActive(models.set.fallbackActive != nil)
        if models.set.fallbackActive != nil { metrics.model.recordFallback(.loadError) }
        metrics.model.setSource(models.activeSource)
        metrics.setModelLoaded(true)
    }
}

extension ModelVariantLabel {
    init(_ variant: ModelVariant) {
        switch variant {
        case .ml: self = .ml
        case .baseline: self = .baseline
        }
    }
}
