import FeaturePipeline
import Foundation
import ModelRegistry
import Testing

/// The model registry against a real MLflow tracking server (`MLFLOW_BIN`, from `scripts/ensure-mlflow`): version,
/// alias, stage and `latest` resolution with the model bytes checked; the MLmodel flavour, MLflow 3 logged-model
/// sources and a lone `.json` artifact; the cache; a corrupt version; and, with the server stopped, the cached copy
/// and the local file. Then the daemon: started from an alias, reloaded (SIGHUP) to a corrupt version (kept, counted)
/// and to a stage, and with the server stopped to its cached copy — on `/model` and the metrics.
@Suite(.serialized) struct ModelRegistryServerTests {
    static let name = "volatility-xgb"

    /// The active model on the daemon's `GET /model`.
    static func active(_ address: String) -> (version: String, source: String, path: String)? {
        guard let body = httpGet("http://\(address)/model")?.body,
            let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let active = object["active"] as? [String: Any],
            let version = active["version"] as? String, let source = active["source"] as? String, let path = active["path"] as? String
        else { return nil }
        return (version, source, path)
    }

    static func metric(_ address: String, _ series: String) -> Double {
        metricValue(httpGet("http://\(address)/metrics")?.body ?? "", series) ?? -1
    }

    @Test(.enabled(if: MLflowServer.executable != nil, "MLFLOW_BIN is not set: run scripts/ensure-mlflow and export MLFLOW_BIN to test the registry against a real MLflow server"))
    func resolvesCachesFallsBackAndFeedsTheDaemon() async throws {
        let server = try MLflowServer()
        defer { server.terminateNow() }
        let registered = try server.registerTestModels(name: Self.name)
        // Both source shapes MLflow produces: run artifacts and an MLflow 3 logged model.
        #expect(registered.sources["v1"]?.hasPrefix("mlflow-artifacts:/") == true, "v1 source: \(registered.sources)")
        #expect(registered.sources["v2"]?.hasPrefix("models:/m-") == true, "v2 source: \(registered.sources)")

        let cacheDir = server.directory.appendingPathComponent("cache").path
        let localFile = TestPaths.repositoryRoot.appendingPathComponent("config/models/xgb-volatility-5feat.json").path
        let original = try Data(contentsOf: URL(fileURLWithPath: localFile))

        // The daemon's limits (10 s per request, 30 s in all) with room for a loaded 2-core machine: pass or fail
        // must not depend on how fast the server answers.
        let generousLimits = RegistryLimits(requestTimeoutSeconds: 120, totalTimeoutSeconds: 600)
        func resolve(_ text: String, cache: String = cacheDir, fallback: String? = localFile) async throws -> ModelResolution {
            try await ModelSourceResolver.resolve(
                uri: ModelURI(parsing: text), trackingURI: server.trackingURI, auth: .none, cacheDir: cache, fallbackFile: fallback,
                limits: generousLimits
            )
        }

        // A version number, through the MLmodel file's xgboost flavour; its reference file is cached with it.
        let v1 = try await resolve("models:/\(Self.name)/\(registered.v1)")
        #expect(v1.source == .registry)
        #expect(v1.version == "\(Self.name)/\(registered.v1)")
        #expect(FileManager.default.contents(atPath: v1.modelPath) == original)
        let reference = v1.referencePath.flatMap { FileManager.default.contents(atPath: $0) }
        let shipped = FileManager.default.contents(
            atPath: TestPaths.repositoryRoot.appendingPathComponent("config/models/xgb-volatility-5feat.reference.json").path)
        let cachedObject = reference.flatMap { try? JSONSerialization.jsonObject(with: $0) as? NSDictionary }
        let shippedObject = shipped.flatMap { try? JSONSerialization.jsonObject(with: $0) as? NSDictionary }
        #expect(cachedObject != nil && cachedObject == shippedObject, "the cached reference is not the registered one")
        let loaded = try LoadedModel.load(variant: .ml, modelPath: v1.modelPath, baselinePath: "")
        #expect(loaded.version == "\(Self.name)/\(registered.v1)")

        // An alias, pointing at an MLflow 3 logged model (source models:/m-…): a different model.
        let champion = try await resolve("models:/\(Self.name)@champion")
        #expect(champion.source == .registry)
        #expect(champion.version == "\(Self.name)/\(registered.v2)")
        let championBytes = try #require(FileManager.default.contents(atPath: champion.modelPath))
        #expect(championBytes != original)
        let championModel = try LoadedModel.load(variant: .ml, modelPath: champion.modelPath, baselinePath: "")
        let features = FeatureVector(midpriceReturnMean: 0, midpriceReturnStd: 0.0002, bidAskSpread: 0.01, tradeIntensity: 3, orderBookImbalance: 0.1, windowSize: 10, windowDuration: 3)
        #expect(championModel.predict(features).probability != loaded.predict(features).probability)
        #expect(championModel.version == "\(Self.name)/\(registered.v2)")

        // A stage, in any case.
        let production = try await resolve("models:/\(Self.name)/production")
        #expect(production.source == .registry)
        #expect(production.version == "\(Self.name)/\(registered.v1)")
        #expect(FileManager.default.contents(atPath: production.modelPath) == original)

        // The single .json artifact of a version without an MLmodel file; `latest` is the highest version.
        let latest = try await resolve("models:/\(Self.name)/latest")
        #expect(latest.version == "\(Self.name)/\(registered.v4)")
        #expect(FileManager.default.contents(atPath: latest.modelPath) == original)

        // A corrupt version: rejected with the load error, nothing cached, the cache and file not used.
        do {
            let corrupt = try await resolve("models:/\(Self.name)/\(registered.v3)")
            Issue.record("a corrupt model resolved: \(corrupt)")
        } catch let error as ModelResolutionError {
            guard case .rejected(_, .modelDoesNotLoad(let version, _)) = error else {
                Issue.record("unexpected error \(error)")
                throw error
            }
            #expect(version == "\(Self.name)/\(registered.v3)")
        }
        #expect(ModelCache(root: cacheDir).entry(name: Self.name, version: registered.v3) == nil)

        // Unknown alias and empty stage: rejected (the registry answered), named.
        do {
            _ = try await resolve("models:/\(Self.name)@nobody")
            Issue.record("an unknown alias resolved")
        } catch let error as ModelResolutionError {
            guard case .rejected(_, let cause) = error else { throw error }
            #expect(!cause.isUnavailability)
            #expect(error.description.contains("nobody"))
        }
        do {
            _ = try await resolve("models:/\(Self.name)/Staging")
            Issue.record("an empty stage resolved")
        } catch let error as ModelResolutionError {
            guard case .rejected(_, .noVersionInStage(Self.name, "Staging")) = error else { throw error }
        }

        // The cache holds each version downloaded, with its entry.
        let cache = ModelCache(root: cacheDir)
        for version in [registered.v1, registered.v2, registered.v4] {
            let entry = try #require(cache.entry(name: Self.name, version: version))
            #expect(entry.modelVersion == "\(Self.name)/\(version)")
        }

        // The daemon: starts from the alias through the registry; a reload to the corrupt version keeps the model
        // and counts the error; a reload to a stage switches to that version.
        let cluster = try MockClusterProcess(partitions: 1)
        let config = server.directory.appendingPathComponent("model-config.json")
        try Data("{}".utf8).write(to: config)
        let daemon = try ChildProcess(name: "consumerd", arguments: [], environment: daemonEnvironment(bootstrap: cluster.bootstrap, extra: [
            "MODEL_URI": "models:/\(Self.name)@champion", "MLFLOW_TRACKING_URI": server.trackingURI.absoluteString,
            "MODEL_CACHE_DIR": server.directory.appendingPathComponent("daemon-cache").path, "MODEL_CONFIG_FILE": config.path,
        ]))
        let address = try #require(daemon.waitForLine(prefix: "METRICS=", timeoutSeconds: 120), "\(daemon.stderr.suffix(2000))")
        #expect(Self.active(address)?.version == "\(Self.name)/\(registered.v2)")
        #expect(Self.active(address)?.source == "registry")
        #expect(Self.metric(address, #"volatility_consumer_model_source{source="registry"}"#) == 1)
        #expect(Self.metric(address, #"volatility_consumer_model_info{variant="ml",version="\#(Self.name)/\#(registered.v2)",path="\#(Self.active(address)?.path ?? "")"}"#) == 1)

        try Data(#"{"model_uri": "models:/\#(Self.name)/\#(registered.v3)"}"#.utf8).write(to: config)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(waitUntil(timeoutSeconds: 120) { Self.metric(address, #"volatility_consumer_model_reloads_total{result="error"}"#) == 1 })
        #expect(Self.active(address)?.version == "\(Self.name)/\(registered.v2)")

        try Data(#"{"model_uri": "models:/\#(Self.name)/Production"}"#.utf8).write(to: config)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(waitUntil(timeoutSeconds: 120) { Self.metric(address, #"volatility_consumer_model_reloads_total{result="ok"}"#) == 1 })
        #expect(Self.active(address)?.version == "\(Self.name)/\(registered.v1)")
        #expect(Self.active(address)?.source == "registry")

        // Server stopped: the alias resolves to its cached copy; a URI never fetched falls back to the local file.
        server.stop()
        try Data(#"{"model_uri": "models:/\#(Self.name)@champion"}"#.utf8).write(to: config)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(waitUntil(timeoutSeconds: 120) { Self.metric(address, #"volatility_consumer_model_reloads_total{result="ok"}"#) == 2 })
        #expect(Self.active(address)?.version == "\(Self.name)/\(registered.v2)")
        #expect(Self.active(address)?.source == "cache")
        #expect(Self.metric(address, #"volatility_consumer_model_source{source="cache"}"#) == 1)
        #expect(daemon.stop(timeoutSeconds: 30) == 0)

        let cachedChampion = try await resolve("models:/\(Self.name)@champion")
        #expect(cachedChampion.source == .cache)
        #expect(cachedChampion.version == "\(Self.name)/\(registered.v2)")
        #expect(FileManager.default.contents(atPath: cachedChampion.modelPath) == championBytes)
        #expect(cachedChampion.registryError?.isUnavailability == true)

        let emptyCache = server.directory.appendingPathComponent("empty-cache").path
        let fromFile = try await resolve("models:/\(Self.name)@champion", cache: emptyCache)
        #expect(fromFile.source == .file)
        #expect(fromFile.modelPath == localFile)
        #expect(fromFile.version == nil)

        do {
            _ = try await resolve("models:/\(Self.name)@champion", cache: emptyCache, fallback: nil)
            Issue.record("resolved with no registry, cache or file")
        } catch let error as ModelResolutionError {
            guard case .nothingAvailable(_, .unreachable, nil) = error else { throw error }
        }
    }
}
