/// The model identities (role, variant, version) and topics of a partition's open horizons, each stored once.
///
/// An open horizon refers to them by index, so it holds no `String` and costs no reference counting when it is
/// opened, copied or dropped. A partition keeps up to `LABEL_MAX_PENDING` open horizons (one per prediction in
/// the last H seconds); with the strings in them a horizon took 160 bytes (`MemoryLayout.stride`) and retained
/// three or four strings, now 104 bytes and none. The table only grows when a new model version or topic
/// appears (a reload adds at most two entries: the active and the shadow model); a look-up is a comparison with
/// the role's last entry, and a hash only when the model changed.
struct HorizonScoreTable: Sendable {
    struct Identity: Sendable, Hashable {
        var role: ModelRole
        var variant: ModelVariant
        var version: String
    }

    /// "No second score."
    static let none = UInt32.max

    private var identities: [Identity] = []
    private var indices: [Identity: UInt32] = [:]
    private var topics: [String] = []
    /// The last identity looked up for each role (the active and the shadow model alternate on every record).
    private var lastActive = 0
    private var lastShadow = 0
    private var lastTopic = 0

    /// The index of `score`'s identity, added if new.
    mutating func identity(of score: HorizonScore) -> UInt32 {
        let last = score.role == .active ? self.lastActive : self.lastShadow
        if last < self.identities.count, Self.matches(self.identities[last], score) { return UInt32(last) }
        let identity = Identity(role: score.role, variant: score.variant, version: score.version)
        let index: UInt32
        if let known = self.indices[identity] {
            index = known
        } else {
            index = UInt32(self.identities.count)
            self.identities.append(identity)
            self.indices[identity] = index
        }
        if score.role == .active { self.lastActive = Int(index) } else { self.lastShadow = Int(index) }
        return index
    }

    /// The index of `topic`, added if new.
    mutating func topic(_ topic: String) -> UInt32 {
        if self.lastTopic < self.topics.count, self.topics[self.lastTopic] == topic { return UInt32(self.lastTopic) }
        if let index = self.topics.firstIndex(of: topic) {
            self.lastTopic = index
        } else {
            self.topics.append(topic)
            self.lastTopic = self.topics.count - 1
        }
        return UInt32(self.lastTopic)
    }

    /// The score stored under `identity`.
    func score(_ identity: UInt32, probability: Double, prediction: Int) -> HorizonScore {
        let entry = self.identities[Int(identity)]
        return HorizonScore(
            role: entry.role, variant: entry.variant, version: entry.version, probability: probability,
            prediction: prediction)
    }

    /// The topic stored under `index`.
    func topic(at index: UInt32) -> String { self.topics[Int(index)] }

    private static func matches(_ identity: Identity, _ score: HorizonScore) -> Bool {
        identity.role == score.role && identity.variant == score.variant && identity.version == score.version
    }
}
