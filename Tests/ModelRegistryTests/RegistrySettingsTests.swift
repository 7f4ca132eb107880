import Foundation
import ModelRegistry
import Testing

@Suite struct RegistrySettingsTests {
    @Test func unsetMeansNoRegistry() throws {
        let settings = try RegistrySettings.fromEnvironment([:])
        #expect(settings.modelURI == nil)
        #expect(settings.trackingURI == nil)
        #expect(settings.auth == .none)
        #expect(settings.cacheDirectory == ".cache/consumerd/models")
    }

    @Test func readsURIAuthAndCache() throws {
        let settings = try RegistrySettings.fromEnvironment([
            "MODEL_URI": "models:/volatility-xgb@champion",
            "MLFLOW_TRACKING_URI": "http://127.0.0.1:5000",
            "MLFLOW_TRACKING_TOKEN": "secret",
            "MODEL_CACHE_DIR": "/var/tmp/models",
        ])
        #expect(settings.modelURI == ModelURI(name: "volatility-xgb", reference: .alias("champion")))
        #expect(settings.trackingURI == URL(string: "http://127.0.0.1:5000"))
        #expect(settings.auth == .bearer(token: "secret"))
        #expect(settings.cacheDirectory == "/var/tmp/models")
        #expect(!settings.auth.description.contains("secret"))
    }

    @Test func basicAuthAndSystemdCacheDirectory() throws {
        let settings = try RegistrySettings.fromEnvironment([
            "MLFLOW_TRACKING_USERNAME": "ops", "MLFLOW_TRACKING_PASSWORD": "pw",
            "CACHE_DIRECTORY": "/var/cache/consumerd:/var/cache/other",
        ])
        #expect(settings.auth == .basic(username: "ops", password: "pw"))
        #expect(settings.cacheDirectory == "/var/cache/consumerd/models")
    }

    @Test func resolveWithoutAURIOrServer() async throws {
        let none = try RegistrySettings.fromEnvironment([:])
        #expect(try await none.resolve(fallbackFile: "config/models/xgb-volatility-5feat.json") == nil)
        let uri = ModelURI(name: "m", reference: .alias("champion"))
        await #expect(throws: ModelResolutionError.noTrackingServer(uri: uri)) {
            try await none.resolve(uri, fallbackFile: nil)
        }
    }

    @Test(arguments: [
        (["MODEL_URI": "models:/m/Prod", "MLFLOW_TRACKING_URI": "http://h"], "MODEL_URI"),
        (["MODEL_URI": "models:/m/1"], "MLFLOW_TRACKING_URI"),
        (["MODEL_URI": "models:/m/1", "MLFLOW_TRACKING_URI": "file:///tmp/mlruns"], "MLFLOW_TRACKING_URI"),
        (["MODEL_URI": "models:/m/1", "MLFLOW_TRACKING_URI": "databricks"], "MLFLOW_TRACKING_URI"),
        (["MLFLOW_TRACKING_USERNAME": "ops"], "MLFLOW_TRACKING_PASSWORD"),
        (["MLFLOW_TRACKING_PASSWORD": "pw"], "MLFLOW_TRACKING_USERNAME"),
        (["MLFLOW_TRACKING_TOKEN": "t", "MLFLOW_TRACKING_USERNAME": "ops", "MLFLOW_TRACKING_PASSWORD": "pw"], "MLFLOW_TRACKING_TOKEN"),
    ])
    func badSettingsNameTheVariable(environment: [String: String], variable: String) {
        do {
            _ = try RegistrySettings.fromEnvironment(environment)
            Issue.record("accepted \(environment)")
        } catch {
            #expect(error.variable == variable)
            #expect(error.description.hasPrefix(variable + ": "))
        }
    }
}
