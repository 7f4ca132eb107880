/// Assignments, revocations, lost partitions, state rebuilds and exactly-once rewinds.
///
/// Partitions are assigned paused. Their committed offsets are looked up and their state rebuilt from the main
/// loop, which keeps polling meanwhile; only then are they resumed. A partition that comes back at the position
/// it left keeps its state instead of being rebuilt.
extension DeliveryEngine {
    /// `ids` were assigned (`incremental`: cooperative, added to the current assignment; otherwise the whole new
    /// assignment). Returns what must happen inside the callback: pausing them before anything is fetched.
    mutating func assigned(_ ids: [Int32], incremental: Bool, now: UInt64) -> [EngineAction] {
        var actions: [EngineAction] = []
        if !incremental {
            // Eager: every parked partition that did not come back belongs to another member now.
            let gone = parked.keys.filter { !ids.contains($0) }.sorted()
            for id in gone { parked[id] = nil }
            if !gone.isEmpty { actions.append(.resetState(gone)) }
        }
        for id in ids {
            nextGeneration &+= 1
            var state = PartitionState(generation: nextGeneration, phase: .awaitingCommitted(rewind: false), assignedNanos: now)
            if !reassignsInVain.isEmpty { state.reassignedInVain = reassignsInVain[id] != nil }
            partitions[id] = state
            lookUpsRequested.remove(id)
            reassigning.remove(id)
        }
        if !ids.isEmpty { actions.append(.pause(ids.sorted())) }
        return actions
    }

    /// The committed offsets asked for by ``EngineAction/lookUpCommitted(_:)`` (`nil`: none committed, or the
    /// look-up failed — then `failed` holds the partition). A newly assigned partition without one starts where
    /// `auto.offset.reset` says, with empty state. A partition rewound after an aborted transaction goes back to
    /// its committed offset or, without one, to the first offset the aborted transaction admitted there — never
    /// to the log's beginning, which would publish every committed input's outputs again.
    mutating func committedOffsets(_ committed: [Int32: Int64?], failed: Set<Int32> = [], now: UInt64) -> [EngineAction] {
        var actions: [EngineAction] = []
        var reset: [Int32] = []
        var seeks: [PartitionOffset] = []
        for id in committed.keys.sorted() {
            lookUpsRequested.remove(id)
            guard let state = partitions[id], case .awaitingCommitted(let rewind) = state.phase else { continue }
            var offset = failed.contains(id) ? nil : committed[id] ?? nil
            // State is rebuilt from the log before a committed position only: a partition without one started
            // with empty state, and starts so again.
            var rebuildBefore = offset
            if rewind, offset == nil, let start = state.rewindTo {
                offset = start
                // The look-up failed: the transaction began at the committed offset it could not read.
                if failed.contains(id) { rebuildBefore = start }
            }
            if rewind {
                // The seek replaces any position a held record would have asked for.
                seeks.append(PartitionOffset(partition: id, offset: offset ?? PartitionOffset.beginning))
                partitions[id]?.heldFrom = nil
                partitions[id]?.rewound = true
            }
            if let kept = parked.removeValue(forKey: id), !rewind, let offset, kept.position == offset {
                // Back at the position it left: its state is exactly what the log up to there builds.
                partitions[id]?.phase = .active
                partitions[id]?.position = offset
                continue
            }
            reset.append(id)
            partitions[id]?.position = offset
            partitions[id]?.startUnknown = !rewind && failed.contains(id)
            if options.rebuildEnabled, let rebuildBefore, rebuildBefore > 0 {
                partitions[id]?.phase = .rebuilding
                actions.append(.rebuild(partition: id, before: rebuildBefore))
            } else {
                partitions[id]?.phase = .active
            }
        }
        if !seeks.isEmpty { actions.insert(.seek(seeks), at: 0) }
        if !reset.isEmpty { actions.insert(.resetState(reset), at: 0) }
        return actions
    }

    /// The rebuild of `partition` ended (completely or not: processing goes on either way).
    mutating func rebuildFinished(partition: Int32, now: UInt64) {
        guard partitions[partition]?.phase == .rebuilding else { return }
        partitions[partition]?.phase = .active
    }

    /// A rebalance callback runs while one input's outputs are only partly handed to the producer (its queue was
    /// full and the wait polled the consumer): exactly-once then aborts instead of committing.
    mutating func inputPartlyProduced() {
        commits.outputFailed()
    }

    /// `ids` are being revoked (not lost). Returns what must happen before they go: commits. `unhandled`: partitions
    /// with records admitted that the handler never saw (a pipeline not emptied first) — their state is not parked.
    mutating func revoked(_ ids: [Int32], incremental: Bool, unhandled: Set<Int32> = [], now: UInt64) -> [EngineAction] {
        var actions: [EngineAction] = []
        forgetReassigns(ids)
        commits.revoking(&partitions, ids: ids, into: &actions)
        actions += release(ids, incremental: incremental, unhandled: unhandled)
        return actions
    }

    /// `ids` were lost (the group session expired): nothing of theirs can be committed. `unhandled` as for
    /// ``revoked(_:incremental:unhandled:now:)``.
    mutating func lost(_ ids: [Int32], incremental: Bool, unhandled: Set<Int32> = [], now: UInt64) -> [EngineAction] {
        var actions: [EngineAction] = []
        commits.losing(ids: ids, into: &actions)
        forgetReassigns(ids)
        actions += release(ids, incremental: incremental, unhandled: unhandled)
        return actions
    }

    /// Revoked or lost other than by the fetch watch's own reassignment: assigned again later, they start without
    /// its back-off.
    private mutating func forgetReassigns(_ ids: [Int32]) {
        guard !reassignsInVain.isEmpty else { return }
        for id in ids where !reassigning.contains(id) { reassignsInVain[id] = nil }
    }

    /// Forgets the partitions; with eager rebalancing their state is parked in case they come back.
    private mutating func release(_ ids: [Int32], incremental: Bool, unhandled: Set<Int32>) -> [EngineAction] {
        var reset: [Int32] = []
        for id in ids.sorted() {
            lookUpsRequested.remove(id)
            guard let state = partitions.removeValue(forKey: id) else { continue }
            // Its position counts every record admitted: parked only if the handler saw them all, else the kept
            // state would lack records a return "at the same position" skips.
            if !incremental, state.phase == .active, !unhandled.contains(id), let position = state.position {
                parked[id] = ParkedPartition(position: position)
            } else {
                // Its state is incomplete (still being prepared) or goes elsewhere: forget it, and any parked
                // state from an earlier assignment with it.
                parked[id] = nil
                reset.append(id)
            }
        }
        // Their outputs still in flight complete nothing (generation); their retries are dropped when due.
        return reset.isEmpty ? [] : [.resetState(reset)]
    }

    // MARK: - Exactly-once

    /// The result of a ``EngineAction/commitTransaction(_:)``.
    mutating func transactionCommitted(_ result: TransactionResult, now: UInt64) -> [EngineAction] {
        var actions: [EngineAction] = []
        commits.transactionCommitted(result, into: &actions)
        return actions
    }

    /// The ``EngineAction/abortTransaction`` timed out (librdkafka goes on with it): asked for again at the next
    /// tick, fetching paused meanwhile.
    mutating func transactionAbortTimedOut(now: UInt64) {
        commits.abortTimedOut()
    }

    /// The open transaction was aborted: its partitions that are still assigned are read again from their
    /// committed offsets with rebuilt state (paused until then), as after a restart.
    mutating func transactionAborted(now: UInt64) -> [EngineAction] {
        var rewound: [Int32] = []
        let aborted = commits.transactionAborted()
        for id in aborted.keys.sorted() where partitions[id] != nil {
            nextGeneration &+= 1
            partitions[id] = PartitionState(generation: nextGeneration, phase: .awaitingCommitted(rewind: true), assignedNanos: now)
            partitions[id]?.rewindTo = aborted[id]
            lookUpsRequested.remove(id)
            rewound.append(id)
        }
        // Outputs of the aborted transaction are never visible to read_committed readers; their inputs are read
        // again, so their retries (none in this mode) and completions no longer count.
        return rewound.isEmpty ? [] : [.pause(rewound)]
    }

    // MARK: - Stop

    /// A stop was requested: no new inputs; fetching pauses at the next tick.
    mutating func stop(now: UInt64) {
        guard lifecycle == .running else { return }
        lifecycle = .draining
    }

    /// The outputs were flushed (or the flush gave up): the last offsets or the last transaction.
    mutating func finish(now: UInt64) -> [EngineAction] {
        guard lifecycle != .stopped else { return [] }
        lifecycle = .stopped
        var actions: [EngineAction] = []
        commits.finishing(&partitions, into: &actions)
        for slot in retrySlots { actions.append(.dropRetry(slot: slot)) }
        retrySlots.removeAll()
        return actions
    }
}
