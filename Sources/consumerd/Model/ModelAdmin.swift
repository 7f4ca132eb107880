import ConsumerMetrics
import Foundation

/// `POST /admin/model` (a JSON body shaped like `MODEL_CONFIG_FILE`) and `POST /admin/reload` (as SIGHUP):
/// answers the models in force afterwards (200), or the error with the models kept (422).
struct ModelAdmin: AdminHandling {
    let manager: ModelManager

    func handle(path: String, body: [UInt8]) async -> (status: Int, json: [UInt8]) {
        let outcome: ModelManager.Outcome
        switch path {
        case "/admin/model":
            outcome = await manager.apply(requestBody: Data(body))
        case "/admin/reload":
            outcome = await manager.reload(trigger: .adminReload)
        default:
            return (404, Array("{\"error\":\"not found: POST /admin/model or /admin/reload\"}\n".utf8))
        }
        switch outcome {
        case .loaded(let status):
            return (200, Self.answer(ok: true, error: nil, status: status))
        case .failed(let message, let status):
            return (422, Self.answer(ok: false, error: message, status: status))
        }
    }

    private struct Answer: Encodable {
        var ok: Bool
        var error: String?
        var model: ModelStatus
    }

    static func answer(ok: Bool, error: String?, status: ModelStatus) -> [UInt8] {
        ModelStatus.jsonLine(Answer(ok: ok, error: error, model: status))
    }
}
