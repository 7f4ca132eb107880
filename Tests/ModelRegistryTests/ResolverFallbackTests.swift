import FeaturePipeline
import Foundation
@testable import ModelRegistry
import Testing

/// The fallback chain with a tracking server that refuses every connection: cache, else file, else a typed error.
/// (The registry path itself is tested against a real MLflow server in IntegrationTests/ModelRegistryServerTests.)
@Suite struct ResolverFallbackTests {
    let modelBytes: Data

    init() throws {
        modelBytes = try Data(contentsOf: RegistryTestPaths.modelFile)
    }

    @Test func cacheStoreWritesModelSidecarAndEntryAtomically() throws {
        let root = try temporaryDirectory("store")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = ModelCache(root: root)
        let uri = try ModelURI(parsing: "models:/volatility xgb@champion")
        let entry = try cache.store(
            uri: uri, version: 3, artifactLocation: "mlflow-artifacts:/1/r/artifacts/model",
            model: modelBytes, reference: Data("{}".utf8)
        ) { _ throws(RegistryError) in }
        #expect(entry.modelVersion == "volatility xgb/3")
        #expect(FileManager.default.contents(atPath: entry.modelPath) == modelBytes)
        #expect(entry.referencePath.flatMap { FileManager.default.contents(atPath: $0) } == Data("{}".utf8))
        let loaded = try LoadedModel.load(variant: .ml, modelPath: entry.modelPath, baselinePath: "")
        #expect(loaded.version == "volatility xgb/3")
        #expect(cache.entry(for: uri) == entry)
        #expect(cache.entry(for: ModelURI(name: "volatility xgb", reference: .version(3))) == entry)
        #expect(cache.entry(for: ModelURI(name: "volatility xgb", reference: .alias("challenger"))) == nil)
        // Nothing but the model's directory is left behind (no staging directories).
        let top = try FileManager.default.contentsOfDirectory(atPath: root)
        #expect(top == ["volatility%20xgb"])
    }

    @Test func storingAVersionAgainReplacesItsCopy() throws {
        let root = try temporaryDirectory("replace")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = ModelCache(root: root)
        let uri = try ModelURI(parsing: "models:/m@champion")
        _ = try cache.store(uri: uri, version: 5, artifactLocation: "a", model: Data("old".utf8), reference: Data("{}".utf8)) { _ throws(RegistryError) in }
        let second = try cache.store(uri: uri, version: 5, artifactLocation: "b", model: modelBytes, reference: nil) { _ throws(RegistryError) in }
        #expect(cache.entry(for: uri) == second)
        #expect(second.artifactLocation == "b")
        #expect(second.referencePath == nil)
        #expect(FileManager.default.contents(atPath: second.modelPath) == modelBytes)
        #expect(!FileManager.default.fileExists(atPath: second.directory + "/model.reference.json"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["m"])
    }

    @Test func authorizationHeaders() {
        #expect(RegistryAuth.none.headerValue == nil)
        #expect(RegistryAuth.bearer(token: "abc").headerValue == "Bearer abc")
        #expect(RegistryAuth.basic(username: "ops", password: "p:w").headerValue == "Basic b3BzOnA6dw==")
        #expect(!RegistryAuth.basic(username: "ops", password: "p:w").description.contains("p:w"))
    }

    @Test func aFailedVerificationLeavesNoEntry() throws {
        let root = try temporaryDirectory("verify")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = ModelCache(root: root)
        let uri = try ModelURI(parsing: "models:/m/4")
        #expect(throws: RegistryError.modelDoesNotLoad(version: "m/4", error: .invalidJSON(path: "x", reason: "bad"))) {
            try cache.store(uri: uri, version: 4, artifactLocation: "a", model: Data("{".utf8), reference: nil) { _ throws(RegistryError) in
                throw .modelDoesNotLoad(version: "m/4", error: .invalidJSON(path: "x", reason: "bad"))
            }
        }
        #expect(cache.entry(for: uri) == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).isEmpty)
    }

    @Test func unreachableRegistryUsesTheCachedCopyForThatURI() async throws {
        let root = try temporaryDirectory("cache")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let uri = try ModelURI(parsing: "models:/volatility-xgb/Production")
        let stored = try ModelCache(root: root).store(
            uri: uri, version: 2, artifactLocation: "mlflow-artifacts:/1/r/artifacts/model", model: modelBytes, reference: nil
        ) { _ throws(RegistryError) in }
        let resolution = try await ModelSourceResolver.resolve(
            uri: uri, trackingURI: refusingTrackingURI, auth: .none, cacheDir: root, fallbackFile: RegistryTestPaths.modelFile.path
        )
        #expect(resolution.source == .cache)
        #expect(resolution.modelPath == stored.modelPath)
        #expect(resolution.version == "volatility-xgb/2")
        guard case .unreachable? = resolution.registryError else {
            Issue.record("expected an unreachable error, got \(String(describing: resolution.registryError))")
            return
        }
        #expect(resolution.summary.contains("cache, version volatility-xgb/2"))
    }

    @Test func unreachableRegistryWithoutCacheUsesTheLocalFile() async throws {
        let root = try temporaryDirectory("file")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let resolution = try await ModelSourceResolver.resolve(
            uri: ModelURI(parsing: "models:/volatility-xgb@champion"), trackingURI: refusingTrackingURI, auth: .none,
            cacheDir: root, fallbackFile: RegistryTestPaths.modelFile.path
        )
        #expect(resolution.source == .file)
        #expect(resolution.modelPath == RegistryTestPaths.modelFile.path)
        #expect(resolution.version == nil)
        #expect(resolution.registryError?.isUnavailability == true)
    }

    @Test func nothingAvailableIsATypedError() async throws {
        let root = try temporaryDirectory("none")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let uri = try ModelURI(parsing: "models:/volatility-xgb/1")
        do {
            let resolution = try await ModelSourceResolver.resolve(
                uri: uri, trackingURI: refusingTrackingURI, auth: .bearer(token: "t"), cacheDir: root, fallbackFile: root + "/missing.json"
            )
            Issue.record("resolved \(resolution)")
        } catch {
            guard case .nothingAvailable(let failed, .unreachable, root + "/missing.json") = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(failed == uri)
            #expect(error.description.contains("missing.json"))
        }
    }
}
