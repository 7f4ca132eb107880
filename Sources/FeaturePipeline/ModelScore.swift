/// A model's output for one feature vector.
public struct ModelScore: Sendable, Equatable {
    /// Spike probability in [0, 1].
    public var probability: Double
    /// The decision: 1 for a predicted spike, else 0.
    public var prediction: Int

    /// Creates a score.
    public init(probability: Double, prediction: Int) {
        self.probability = probability
        self.prediction = prediction
    }
}
