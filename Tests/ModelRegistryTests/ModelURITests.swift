import ModelRegistry
import Testing

@Suite struct ModelURITests {
    @Test func parsesVersion() throws {
        let uri = try ModelURI(parsing: "models:/volatility-xgb/3")
        #expect(uri.name == "volatility-xgb")
        #expect(uri.reference == .version(3))
        #expect(uri.description == "models:/volatility-xgb/3")
    }

    @Test func parsesAlias() throws {
        let uri = try ModelURI(parsing: "models:/volatility-xgb@champion")
        #expect(uri.name == "volatility-xgb")
        #expect(uri.reference == .alias("champion"))
        #expect(uri.description == "models:/volatility-xgb@champion")
    }

    @Test(arguments: [
        ("models:/m/Production", ModelStage.production), ("models:/m/production", .production),
        ("models:/m/STAGING", .staging), ("models:/m/none", .none), ("models:/m/Archived", .archived),
    ])
    func parsesStagesInAnyCase(text: String, stage: ModelStage) throws {
        let uri = try ModelURI(parsing: text)
        #expect(uri.name == "m")
        #expect(uri.reference == .stage(stage))
        #expect(uri.description == "models:/m/\(stage.rawValue)")
    }

    @Test func parsesLatestAndTolerantSlashes() throws {
        #expect(try ModelURI(parsing: "models:/m/latest").reference == .latest)
        #expect(try ModelURI(parsing: "models:m/2").reference == .version(2))
        #expect(try ModelURI(parsing: " models:/m/2/ ").reference == .version(2))
    }

    @Test(arguments: [
        ("runs:/abc/model", ModelURIError.notAModelsURI("runs:/abc/model")),
        ("volatility-xgb/3", .notAModelsURI("volatility-xgb/3")),
        ("models://prof@databricks/m/1", .registryInURI("models://prof@databricks/m/1")),
        ("models:/", .missingName("models:/")),
        ("models:/m", .missingVersion("models:/m")),
        ("models:/m/", .missingVersion("models:/m/")),
        ("models:/m@", .emptyAlias("models:/m@")),
        ("models:/@a", .missingName("models:/@a")),
        ("models://1", .registryInURI("models://1")),
        ("models:/m@a/1", .aliasWithVersion("models:/m@a/1")),
        ("models:/m/0", .invalidVersion("models:/m/0", "0")),
        ("models:/m/99999999999999999999999", .invalidVersion("models:/m/99999999999999999999999", "99999999999999999999999")),
        ("models:/m/Prod", .unknownStage("models:/m/Prod", "Prod")),
        ("models:/m/1/extra", .tooManyParts("models:/m/1/extra")),
    ])
    func rejectsMalformed(text: String, expected: ModelURIError) {
        #expect(throws: expected) { try ModelURI(parsing: text) }
    }

    @Test func errorMessagesNameTheProblemAndTheForms() {
        let message = ModelURIError.unknownStage("models:/m/Prod", "Prod").description
        #expect(message.contains("'Prod'"))
        #expect(message.contains("Production"))
        #expect(ModelURIError.notAModelsURI("x").description.contains("models:/NAME@ALIAS"))
    }
}
