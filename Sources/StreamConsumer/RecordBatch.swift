import Crdkafka

/// The records one loop pass admitted, with a slot per record for what the handler makes of it: the disposition,
/// the output bytes and the further outputs. Slots keep their buffers' capacity from batch to batch, so a warm
/// batch allocates nothing.
///
/// With a ``HandlerStage`` the driver admits a run of fetched records (the engine registered each), hands the
/// batch to the stage's thread, which lets the handler decide them all in order, and then produces their outputs
/// in order — while the stage decides the next batch. The messages stay alive (the records point into them) until
/// their outputs are produced, or the batch is dropped.
struct RecordBatch {
    /// A fetched record the engine registered, until its outputs are produced.
    struct Admitted {
        var message: UnsafeMutablePointer<rd_kafka_message_t>
        var ticket: InputTicket
        var timestamp: Double?
        var timestampMs: Int64?
        /// Where the handler prepared it (``RecordHandler/prepare(_:in:)``), if it did.
        var prepared: PreparedSlot?
    }

    /// Which of the ``PreparedSlot/batches`` buffers this is (the identity travels with the storage).
    let id: Int

    init(id: Int) {
        self.id = id
    }

    private(set) var admitted: [Admitted] = []
    private(set) var records: [ConsumedRecord] = []
    private(set) var dispositions: [RecordDisposition] = []
    private(set) var outputs: [[UInt8]] = []
    private(set) var extras: [ExtraOutputs] = []
    /// The records before this one have been finished (produced or dropped); the driver's finishing may be
    /// interrupted by a rebalance callback and goes on from here.
    var finished = 0
    /// Whether the handler decided the records (the stage ran the batch).
    private(set) var decided = false

    var count: Int { admitted.count }
    var isEmpty: Bool { admitted.isEmpty }
    var isFinished: Bool { finished >= admitted.count }

    /// Adds an admitted record with an empty slot.
    mutating func append(_ entry: Admitted, record: ConsumedRecord) {
        let index = admitted.count
        admitted.append(entry)
        records.append(record)
        if dispositions.count <= index {
            dispositions.append(.skip)
            outputs.append([])
            extras.append(ExtraOutputs())
        } else {
            dispositions[index] = .skip
            extras[index].removeAll()
        }
    }

    /// Lets `handler` decide every record, in order (on the stage's thread).
    mutating func decide(with handler: any RecordHandler) {
        for index in 0..<admitted.count {
            // Distinct stored properties of `self`, each accessed once: no exclusivity conflict, no copy.
            if let slot = admitted[index].prepared {
                dispositions[index] = handler.handle(records[index], prepared: slot, output: &outputs[index], extras: &extras[index])
            } else {
                dispositions[index] = handler.handle(records[index], output: &outputs[index], extras: &extras[index])
            }
        }
        decided = true
    }

    /// What the handler made of the record at `index`, moved out of the batch for producing: the output buffers
    /// are swapped out, not copied, and go back with ``returnSlot(_:output:extras:)`` so their capacity is kept.
    /// (A non-mutating read of the driver's batch around a call that can re-enter the driver made Swift copy the
    /// whole batch per record: its five arrays retained and released, ~5 % of the processing thread, `perf`.)
    mutating func takeSlot(_ index: Int) -> (record: ConsumedRecord, disposition: RecordDisposition, output: [UInt8], extras: ExtraOutputs) {
        var output: [UInt8] = []
        var extras = ExtraOutputs()
        swap(&output, &outputs[index])
        swap(&extras, &self.extras[index])
        return (records[index], dispositions[index], output, extras)
    }

    /// Gives back the buffers ``takeSlot(_:)`` moved out of slot `index`.
    mutating func returnSlot(_ index: Int, output: inout [UInt8], extras: inout ExtraOutputs) {
        swap(&output, &outputs[index])
        swap(&extras, &self.extras[index])
    }

    /// Drops the records `drop` names (the batch was not decided yet), handing each to `release`.
    mutating func removeUndecided(where drop: (Admitted) -> Bool, release: (Admitted) -> Void) {
        precondition(!decided && finished == 0, "only a batch that was not handed to the handler can be filtered")
        var kept = 0
        for index in 0..<admitted.count {
            if drop(admitted[index]) {
                release(admitted[index])
            } else {
                admitted[kept] = admitted[index]
                records[kept] = records[index]
                kept += 1
            }
        }
        admitted.removeLast(admitted.count - kept)
        records.removeLast(records.count - kept)
    }

    /// Forgets the records (their messages must have been destroyed), keeping every slot's storage.
    mutating func removeAll() {
        admitted.removeAll(keepingCapacity: true)
        records.removeAll(keepingCapacity: true)
        finished = 0
        decided = false
    }
}
