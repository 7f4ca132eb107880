/// Why a record was scored by the fallback baseline instead of the configured ML model
/// (`fallback_reason` in outputs, the `reason` label of `volatility_consumer_model_fallbacks_total`).
public enum FallbackReason: String, Sendable, CaseIterable {
    /// The ML model could not be loaded (start-up or reload): every record is scored by the baseline.
    case loadError = "load_error"
    /// The ML model gave a non-finite score for this record: this record alone is scored by the baseline.
    case nonFiniteScore = "non_finite_score"
}

/// The models the daemon scores with at one moment, swapped as a whole between two records.
public struct ModelSet: Sendable {
    /// Scores every record; its decision is published.
    public let active: LoadedModel
    /// Scores every record too; its decision is only compared and, with a shadow topic, published apart.
    public let shadow: LoadedModel?
    /// The baseline that scores a record whose active score is not finite (`MODEL_FALLBACK=baseline`); `nil`
    /// when the fallback is off.
    public let fallback: LoadedModel?
    /// Set when `active` is the fallback baseline because the configured ML model could not be loaded.
    public let fallbackActive: FallbackActivation?

    /// A fallback in force for every record: why, and the load error an operator can act on.
    public struct FallbackActivation: Sendable, Equatable {
        public let reason: FallbackReason
        public let detail: String

        public init(reason: FallbackReason, detail: String) {
            self.reason = reason
            self.detail = detail
        }
    }

    public init(active: LoadedModel, shadow: LoadedModel? = nil, fallback: LoadedModel? = nil, fallbackActive: FallbackActivation? = nil) {
        self.active = active
        self.shadow = shadow
        self.fallback = fallback
        self.fallbackActive = fallbackActive
    }

    /// How one record was scored by the active side.
    public enum ActiveScore: Equatable, Sendable {
        /// By the active model.
        case scored(ModelScore)
        /// By the fallback baseline, because the active model's score was not finite.
        case fellBack(ModelScore)
        /// The active model's score was not finite and no fallback is configured: the record is a `model_error`.
        case failed
    }

    /// Scores `features` with the active model. A non-finite ML probability (`forceNonFinite` simulates one:
    /// the fault hook) is replaced by the fallback's score when there is a fallback. The baseline's own
    /// probability is left as it is (it is non-finite only when its input feature is).
    public func scoreActive(_ features: FeatureVector, forceNonFinite: Bool = false) -> ActiveScore {
        var score = active.predict(features)
        if forceNonFinite { score = ModelScore(probability: .nan, prediction: 0) }
        guard active.variant == .ml, !score.probability.isFinite else { return .scored(score) }
        guard let fallback else { return .failed }
        return .fellBack(fallback.predict(features))
    }
}
