@testable import ModelRegistry
import Testing

@Suite struct ArtifactLocationTests {
    @Test(arguments: [
        ("mlflow-artifacts:/1/abc/artifacts/model", "1/abc/artifacts/model"),
        ("mlflow-artifacts://127.0.0.1:5000/1/abc/artifacts/model/", "1/abc/artifacts/model"),
        ("mlflow-artifacts:/1/models/m-123/artifacts", "1/models/m-123/artifacts"),
        ("http://host:5000/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model", "1/r/artifacts/model"),
        ("mlflow-artifacts:/1/a%20b/model", "1/a b/model"),
    ])
    func proxyPaths(location: String, expected: String) throws {
        #expect(try MLflowClient.proxyPath(of: location) == expected)
    }

    @Test(arguments: ["file:///srv/mlruns/1/abc/artifacts/model", "s3://bucket/1/abc", "/srv/mlruns/1", "mlflow-artifacts:/1/../../etc", "http://host/other/path"])
    func locationsOutsideTheProxyAreRejected(location: String) {
        #expect(throws: RegistryError.unsupportedArtifactLocation(location)) { try MLflowClient.proxyPath(of: location) }
    }

    @Test func queryAndPathEncoding() {
        #expect(MLflowHTTP.encodeQuery("a+b&c=d/e f") == "a%2Bb%26c%3Dd%2Fe%20f")
        #expect(MLflowHTTP.encodePath("1/a b/model.json") == "1/a%20b/model.json")
    }
}

@Suite struct MLmodelFileTests {
    @Test func findsTheXGBoostFlavoursDataFile() throws {
        let yaml = """
            artifact_path: model
            flavors:
              python_function:
                data: model.json
                loader_module: mlflow.xgboost
                python_version: 3.11.7
              xgboost:
                code: null
                data: model.json
                model_class: xgboost.core.Booster
                model_format: json
                xgb_version: 2.1.4
            mlflow_version: 3.17.2
            """
        let file = try MLmodelFile(yaml: yaml, path: "MLmodel")
        #expect(file.xgboostData == "model.json")
        #expect(file.xgboostFormat == "json")
        #expect(file.flavors == ["python_function", "xgboost"])
    }

    @Test func acceptsModelDataAndNoXGBoostFlavour() throws {
        #expect(try MLmodelFile(yaml: "flavors:\n  xgboost:\n    model_data: ./data/m.json\n", path: "MLmodel").xgboostData == "data/m.json")
        let other = try MLmodelFile(yaml: "flavors:\n  sklearn:\n    pickled_model: model.pkl\n", path: "MLmodel")
        #expect(other.xgboostData == nil)
        #expect(other.flavors == ["sklearn"])
    }

    @Test(arguments: ["flavors: [", "just text", "flavors: 3", "flavors:\n  xgboost:\n    data: ../../x.json\n", "flavors:\n  xgboost:\n    code: null\n"])
    func rejectsUnusableFiles(yaml: String) {
        #expect(throws: RegistryError.self) { try MLmodelFile(yaml: yaml, path: "MLmodel") }
    }
}
