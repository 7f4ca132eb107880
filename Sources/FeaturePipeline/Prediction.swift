/// One scored tick: what the daemon publishes.
public struct Prediction: Sendable, Equatable {
    /// Product identifier.
    public var productId: String
    /// Event time of the tick, epoch seconds.
    public var eventTime: Double
    /// Last trade price of the tick.
    public var price: Double
    /// `(bid + ask) / 2` of the tick.
    public var midprice: Double
    /// The features the model saw.
    public var features: FeatureVector
    /// The model's output.
    public var score: ModelScore

    /// Creates a prediction from its parts.
    public init(productId: String, eventTime: Double, price: Double, midprice: Double, features: FeatureVector, score: ModelScore) {
        self.productId = productId
        self.eventTime = eventTime
        self.price = price
        self.midprice = midprice
        self.features = features
        self.score = score
    }
}

/// Where an input record came from, echoed in the output's `source` object so outputs can be traced back.
public struct RecordSource: Sendable, Equatable {
    /// Kafka topic.
    public var topic: String
    /// Kafka partition.
    public var partition: Int32
    /// Kafka offset.
    public var offset: Int64

    /// Creates a source reference.
    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}
