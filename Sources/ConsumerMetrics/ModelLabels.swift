//===----------------------------------------------------------------------===//
//
// consumerd — ConsumerMetrics
//
// Label values of the model-lifecycle metrics (closed sets, pre-populated at start-up).
//
//===----------------------------------------------------------------------===//

/// A model variant as metric label (`variant` of `predictions_total`, `model_info`, `shadow_predictions_total`).
public enum ModelVariantLabel: String, Sendable, CaseIterable {
    case ml
    case baseline

    /// The case's position in `allCases`.
    var index: Int {
        switch self {
        case .ml: 0
        case .baseline: 1
        }
    }
}

/// The outcome of a model reload (`result` of `volatility_consumer_model_reloads_total`).
public enum ReloadResult: String, Sendable, CaseIterable {
    case ok
    case error
}

/// Where the active model's bytes came from (`source` of `volatility_consumer_model_source`).
public enum ModelSourceLabel: String, Sendable, CaseIterable {
    /// Downloaded from the model registry just now.
    case registry
    /// The registry failed; a copy cached by an earlier download.
    case cache
    /// A local file (`MODEL_PATH`, `BASELINE_PATH`, or a path given by the configuration file or an admin request).
    case file
}

/// Why the baseline scored instead of the ML model (`reason` of `volatility_consumer_model_fallbacks_total`).
public enum FallbackReasonLabel: String, Sendable, CaseIterable {
    case loadError = "load_error"
    case nonFiniteScore = "non_finite_score"
}

/// Whether the shadow model's decision equalled the active one's (`result` of `shadow_comparisons_total`).
public enum ComparisonResult: String, Sendable, CaseIterable {
    case agree
    case disagree
}
