/// The engine's tunables.
struct EngineOptions: Sendable, Equatable {
    /// Outputs handed to the producer and not yet acknowledged before fetching is paused.
    var maxInflight: Int
    /// First and largest back-off between attempts to produce a failed output again.
    var retryInitialNanos: UInt64
    var retryMaximumNanos: UInt64
    /// Whether the handler's state is replayed from the log after an assignment.
    var rebuildEnabled: Bool
    /// How long a partition that should be delivering (active, fetching, not at its end) may deliver nothing
    /// — no record, no end-of-partition — before its fetching is restarted (0: never; see
    /// ``checkFetching(now:brokersReachable:)``).
    var fetchStallNanos: UInt64 = 0
    /// Where a restarted partition that has no position (nothing handled, nothing committed) reads from:
    /// librdkafka's logical offset for `auto.offset.reset` (beginning or end); `nil` (`error`): not restarted.
    var offsetWhenNothingCommitted: Int64? = nil
}

/// The I/O-free core of the stream processor: it decides what happens to every input offset and every output.
///
/// Events come in (a record was fetched, an output was acknowledged, partitions were assigned, a timer ticked,
/// a stop was requested) and actions go out (produce again, store offsets, pause, rebuild, commit a transaction).
/// It never calls librdkafka and reads no clock: time arrives with every event, so the tests drive it with a
/// fake clock and no broker. ``StreamProcessor`` turns librdkafka's callbacks into these events and executes the
/// actions.
///
/// The guarantee it keeps: an input's offset is handed to the commit strategy only after every output of that
/// input, and of every earlier input of the same partition, was acknowledged. Failed outputs are retried with
/// back-off (at-least-once) or abort their transaction (exactly-once); while any wait, or while too many outputs
/// are unacknowledged, fetching is paused.
struct DeliveryEngine<Commits: CommitStrategy>: Sendable {
    let options: EngineOptions
    // The stored properties below are internal (not private) only so that the rebalance extension in its own
    // file can reach them; nothing outside Engine/ mutates them.
    var lifecycle: EngineLifecycle = .running
    var partitions: [Int32: PartitionState] = [:]
    /// Revoked partitions whose state the handler still holds (eager rebalancing).
    var parked: [Int32: ParkedPartition] = [:]
    private(set) var outputs = InflightTable()
    /// Slots of outputs waiting for their next attempt.
    var retrySlots: [Int] = []
    /// Too many outputs wait (unacknowledged, or failed and waiting for a retry): no new inputs.
    var congested: Bool { congested(pending: 0) }
    /// Whether fetching is paused for back-pressure, as last announced with ``EngineAction/backPressure(_:)``.
    private(set) var backPressureAnnounced = false
    var commits: Commits
    var nextGeneration: UInt32 = 0
    /// Partitions whose committed offsets were asked for and not yet reported.
    var lookUpsRequested: Set<Int32> = []
    /// When the fetch watch last looked (``checkFetching(now:brokersReachable:)``).
    var lastFetchCheckNanos: UInt64?
    /// Per partition, the reassignments made for the fetch watch (``assigningAgain(_:)``) since it last delivered
    /// anything: the back-off before the next (``restartsBeforeAssigningAgain(afterInVain:)``). Kept across the
    /// reassignment's own revoke and assign (the partition's state is not); removed when the partition delivers a
    /// record or its end (``PartitionState/reassignedInVain`` says so without a look-up here), or is revoked or
    /// lost otherwise. Usually empty.
    var reassignsInVain: [Int32: Int] = [:]
    /// The partitions of a reassignment in progress (``assigningAgain(_:)``): their revoke keeps their count.
    var reassigning: Set<Int32> = []

    init(options: EngineOptions, commits: Commits) {
        self.options = options
        self.commits = commits
    }

    /// Inputs that may be handled now: running, and not paused for back-pressure.
    var acceptsRecords: Bool { acceptsRecords(pending: 0) }

    /// Whether one more input may be admitted while `pending` admitted inputs have not made their outputs yet
    /// (a handler stage holds them): each is counted as one output to come, so outputs stay within
    /// `maxInflight` plus one loop pass's, as without a stage.
    func acceptsRecords(pending: Int) -> Bool {
        lifecycle == .running && !congested(pending: pending) && !commits.holdsRecords
    }

    /// ``congested`` with `pending` outputs still to come.
    private func congested(pending: Int) -> Bool {
        !retrySlots.isEmpty || outputs.count + pending >= options.maxInflight
    }

    var inflightCount: Int { outputs.count }

    // MARK: - Records and outputs (the hot path: no allocation)

    /// A record of `partition` at `offset` was fetched.
    mutating func fetched(partition: Int32, offset: Int64, timestamp: Double?, now: UInt64) -> FetchDecision {
        guard lifecycle == .running else { return .discard }
        var deliveredAfterReassign = false
        let admitted: (generation: UInt32, sequence: Int)?? = withPartition(partition) { state in
            state.heardNanos = now
            state.fruitlessRestarts = 0
            if state.reassignedInVain {
                state.reassignedInVain = false
                deliveredAfterReassign = true
            }
            guard state.phase == .active else {
                // Fetched before the pause took effect: not handled now, read again when the partition resumes
                // (a partition being rewound is moved back to its committed offset instead).
                if state.phase != .awaitingCommitted(rewind: true), !state.rewound {
                    state.heldFrom = min(state.heldFrom ?? offset, offset)
                }
                return nil
            }
            if let position = state.position, offset < position {
                // Admitted already in this assignment: librdkafka 2.0.2 can fetch a stretch again after a pause
                // and resume (the pause records the position asynchronously while the loop keeps polling; its
                // issues #2593, #4637). Measured: after back-pressure paused fetching, ~200k records admitted a
                // second time in a 300k-record run. Handling them again would only duplicate outputs.
                return nil
            }
            state.position = offset + 1
            state.atEnd = false
            state.lastHandledTimestamp = timestamp
            return (state.generation, state.progress.register(offset: offset))
        }
        if deliveredAfterReassign { reassignsInVain[partition] = nil }
        guard let admitted = admitted ?? nil else { return .discard }
        let begin = commits.admitted(partition: partition, offset: offset, now: now)
        return .handle(
            InputTicket(partition: partition, generation: admitted.generation, sequence: admitted.sequence),
            beginTransaction: begin)
    }

    /// In-place access to one partition's state, `nil` when it is not assigned. The hot path goes through here:
    /// `partitions[id]` copies the whole state out (retaining its offset arrays) and `partitions[id]?.x = …`
    /// moves it out and back, while `values[index]`'s accessor yields it in place — and a copy held across a
    /// mutation would make the arrays shared, so that the next append copies them (an allocation per record).
    @inline(__always)
    mutating func withPartition<Result>(_ id: Int32, _ body: (inout PartitionState) -> Result) -> Result? {
        guard let index = partitions.index(forKey: id) else { return nil }
        return body(&partitions.values[index])
    }

    /// The handler made an output for `ticket`; returns the slot that travels with it through the producer.
    /// The input now also waits for this output.
    mutating func outputCreated(for ticket: InputTicket, kind: OutputKind, sourceTimestamp: Double?, now: UInt64) -> Int {
        let slot = outputs.insert(OutputRecord(
            partition: ticket.partition, generation: ticket.generation, sequence: ticket.sequence, kind: kind,
            sourceTimestamp: sourceTimestamp, producedAtNanos: now
        ))
        withPartition(ticket.partition) { state in
            if state.generation == ticket.generation { state.progress.addPending(sequence: ticket.sequence) }
        }
        return slot
    }

    /// Whether `ticket`'s partition is still assigned as it was when the input was admitted (not revoked, lost
    /// or rewound since).
    mutating func isCurrent(_ ticket: InputTicket) -> Bool {
        withPartition(ticket.partition) { $0.generation == ticket.generation } ?? false
    }

    /// The handler is done with `ticket`: every output it made was created (an input with none completes now).
    /// Until then the input cannot complete, even if its first outputs are acknowledged meanwhile.
    mutating func inputHandled(_ ticket: InputTicket) {
        // Releases the "being handled" count that `register` starts each input with.
        withPartition(ticket.partition) { state in
            if state.generation == ticket.generation { state.progress.complete(sequence: ticket.sequence) }
        }
    }

    /// An output handed to the producer was taken back without a delivery report (the produce call failed, or
    /// was abandoned at shutdown): as a delivery report with `result`.
    mutating func delivered(slot: Int, result: DeliveryResult, now: UInt64) -> DeliveryDecision {
        guard var record = outputs.peek(slot) else { return .unknown }
        switch result {
        case .delivered:
            _ = outputs.remove(slot)
            complete(record)
            return .acknowledged(record)
        case .purged:
            _ = outputs.remove(slot)
            // Its input is read again, so the input must not be committed: at-least-once never completes it;
            // exactly-once must not commit the transaction that holds its position (a stop while the producer
            // queue is full purges outputs of the open transaction, which would then commit without them).
            if !commits.retriesFailedOutputs, isCurrent(record) { commits.outputFailed() }
            return .dropped(record)
        case .failed:
            guard commits.retriesFailedOutputs, isCurrent(record) else {
                // Exactly-once: the transaction aborts and its inputs are read again. A revoked partition: its
                // new owner reads the input again.
                _ = outputs.remove(slot)
                // Only an output of the current assignment fails the open transaction; one of a rewound or
                // revoked generation belonged to a transaction that is already settled.
                if isCurrent(record) { commits.outputFailed() }
                return .dropped(record)
            }
            record.backoffNanos = options.retryInitialNanos
            record.retryDueNanos = now &+ options.retryInitialNanos
            outputs.update(slot) { $0 = record }
            retrySlots.append(slot)
            return .retry(record)
        }
    }

    /// The result of an ``EngineAction/produceAgain(slot:)``.
    mutating func reproduced(slot: Int, accepted: Bool, now: UInt64) {
        guard let index = retrySlots.firstIndex(of: slot) else { return }
        if accepted {
            retrySlots.remove(at: index)
            outputs.update(slot) { $0.retryDueNanos = nil }
        } else {
            let maximum = options.retryMaximumNanos
            outputs.update(slot) { record in
                record.backoffNanos = min(max(record.backoffNanos, 1) * 2, maximum)
                record.retryDueNanos = now &+ record.backoffNanos
            }
        }
    }

    /// The end of `partition` was reached at `offset` (the offset a next record would have).
    mutating func reachedEnd(partition: Int32, offset: Int64, now: UInt64) {
        let deliveredAfterReassign = withPartition(partition) { state in
            state.atEnd = true
            state.endOffset = offset
            state.heardNanos = now
            state.fruitlessRestarts = 0
            defer { state.reassignedInVain = false }
            return state.reassignedInVain
        } ?? false
        if deliveredAfterReassign { reassignsInVain[partition] = nil }
    }

    private func isCurrent(_ record: OutputRecord) -> Bool {
        partitions[record.partition]?.generation == record.generation
    }

    private mutating func complete(_ record: OutputRecord) {
        withPartition(record.partition) { state in
            if state.generation == record.generation { state.progress.complete(sequence: record.sequence) }
        }
    }

    // MARK: - Timer

    /// Once per loop pass: due retries, offsets, transactions, partitions to prepare, fetch control.
    /// `idle`: the pass handled no record.
    mutating func tick(now: UInt64, idle: Bool) -> [EngineAction] {
        var actions: [EngineAction] = []
        retryDue(now: now, into: &actions)
        if lifecycle == .running {
            commits.tick(now: now, idle: idle, partitions: &partitions, into: &actions)
        }
        if lifecycle == .running { requestLookUps(into: &actions) }
        controlFetching(now: now, into: &actions)
        return actions
    }

    private mutating func retryDue(now: UInt64, into actions: inout [EngineAction]) {
        guard !retrySlots.isEmpty else { return }
        var index = 0
        while index < retrySlots.count {
            let slot = retrySlots[index]
            guard let record = outputs.peek(slot) else {
                retrySlots.remove(at: index)
                continue
            }
            if !isCurrent(record) {
                // Its partition was revoked: the new owner reprocesses the input.
                _ = outputs.remove(slot)
                retrySlots.remove(at: index)
                actions.append(.dropRetry(slot: slot))
                continue
            }
            if let due = record.retryDueNanos, due <= now { actions.append(.produceAgain(slot: slot)) }
            index += 1
        }
    }

    private mutating func requestLookUps(into actions: inout [EngineAction]) {
        var wanted: [Int32] = []
        let requested = lookUpsRequested
        partitions.forEachInPlace { id, state in
            if state.awaitsCommitted, !requested.contains(id) { wanted.append(id) }
        }
        guard !wanted.isEmpty else { return }
        wanted.sort()
        lookUpsRequested.formUnion(wanted)
        actions.append(.lookUpCommitted(wanted))
    }

    /// Pauses or resumes each partition so librdkafka's flag matches what the engine wants. Every partition's
    /// flag is set explicitly on each change, never inferred: librdkafka keeps a pause flag across a lost and
    /// re-assigned partition.
    private mutating func controlFetching(now: UInt64, into actions: inout [EngineAction]) {
        let congested = self.congested
        if congested != backPressureAnnounced {
            backPressureAnnounced = congested
            actions.append(.backPressure(congested))
        }
        var pause: [Int32] = []
        var resume: [Int32] = []
        var seeks: [PartitionOffset] = []
        let wantPaused = lifecycle != .running || congested || commits.pausesFetching
        // Once per loop pass over every partition: in place, so no state is copied (see withPartition).
        partitions.forEachInPlace { id, state in
            switch state.setFetching(pausedUnlessActive: wantPaused) {
            case nil:
                break
            case .pause:
                pause.append(id)
            case .resume(let seek):
                if let seek { seeks.append(PartitionOffset(partition: id, offset: seek)) }
                resume.append(id)
                // Its silence is measured from now (see checkFetching).
                state.heardNanos = now
            }
        }
        if !pause.isEmpty { actions.append(.pause(pause.sorted())) }
        if !seeks.isEmpty { actions.append(.seek(seeks.sorted { $0.partition < $1.partition })) }
        if !resume.isEmpty { actions.append(.resume(resume.sorted())) }
    }
}
