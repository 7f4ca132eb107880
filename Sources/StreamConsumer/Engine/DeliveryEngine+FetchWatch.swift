/// The fetch watch: a partition that should be delivering and has gone silent is restarted, and counted.
///
/// The engine keeps librdkafka's pause flags in step with its own view and moves fetching back after records it
/// held (``PartitionState/heldFrom``), but librdkafka 2.0.2 applies pauses, resumes and seeks asynchronously and
/// drops the errors of a seek asked for without waiting. If any of that goes wrong, a partition stops delivering
/// while every other signal says all is well: the loop turns, nothing is in flight, and a partition that never
/// handled a record has no position to measure lag from. One benchmark catch-up in about a hundred ended that way
/// (docs/PERFORMANCE.md, "Session 7"). Whatever the cause, the symptom is observable here: an active partition,
/// fetching, not at its end, from which librdkafka has delivered neither a record nor an end-of-partition for
/// ``EngineOptions/fetchStallNanos``. librdkafka delivers one or the other within a fetch round trip; the
/// window is far longer.
extension DeliveryEngine {
    /// Called by the driver on every loop pass while no fetched record waits in its backlog (those count as
    /// heard only when the engine sees them); it looks at most once per ``fetchCheckIntervalNanos``. `brokersReachable`: false while every broker is down — silence is then
    /// expected, and is measured again from the reconnection.
    ///
    /// A silent partition not at its end is restarted at once. One at its end is usually just idle, so its end is
    /// looked up first (``EngineAction/lookUpEnds(_:)``): only if the log has grown past where librdkafka said
    /// the end was is it restarted (``endsLookedUp(_:now:)``). One that ``restartsBeforeAssigningAgain`` restarts
    /// did not bring back is looked up too, and assigned again if records wait.
    mutating func checkFetching(now: UInt64, brokersReachable: Bool) -> [EngineAction] {
        guard options.fetchStallNanos > 0, lifecycle == .running else { return [] }
        if let last = lastFetchCheckNanos, now &- last < Self.fetchCheckIntervalNanos { return [] }
        var restarts: [PartitionOffset] = []
        var endsWanted: [Int32] = []
        let window = options.fetchStallNanos
        let fallback = options.offsetWhenNothingCommitted
        // Silence counts only while the loop was there to hear: after a gap of half a window (at least a few
        // looks) since the last one — a handler that hung, a long back-pressure pause
        // with records waiting — every partition starts again.
        let tolerance = max(window / 2, Self.fetchCheckGapToleranceNanos)
        let loopWasAway = lastFetchCheckNanos.map { now &- $0 > tolerance } ?? false
        lastFetchCheckNanos = now
        let reassigns = reassignsInVain
        partitions.forEachInPlace { id, state in
            guard brokersReachable, !loopWasAway else {
                state.heardNanos = now
                return
            }
            guard state.phase == .active, !state.fetchPaused, now >= state.heardNanos, now - state.heardNanos >= window else {
                return
            }
            // Measured again from now: one restart (or look-up) per window while it stays silent.
            state.heardNanos = now
            if state.atEnd || state.fruitlessRestarts >= Self.restartsBeforeAssigningAgain(afterInVain: reassigns[id] ?? 0) {
                // At its end: usually idle. Restarted too often in vain: whether records wait, and its leader
                // answers, decides between assigning it again and nothing (``endsLookedUp(_:now:)``).
                endsWanted.append(id)
            } else if let offset = state.position ?? (state.startUnknown ? nil : fallback) {
                state.fruitlessRestarts += 1
                restarts.append(PartitionOffset(partition: id, offset: offset))
            } else {
                // Nothing handled and its committed offset unknown (the look-up failed): restarting at
                // `auto.offset.reset`'s position could skip or replay the log. It is paused and looked up again;
                // a later window restarts it at the offset found.
                state.phase = .awaitingCommitted(rewind: false)
            }
        }
        var actions: [EngineAction] = []
        if !restarts.isEmpty { actions.append(.restartFetch(restarts.sorted { $0.partition < $1.partition })) }
        if !endsWanted.isEmpty { actions.append(.lookUpEnds(endsWanted.sorted())) }
        return actions
    }

    /// Restarts that brought nothing before a silent partition is assigned again instead — if its leader answers
    /// and records wait past its position (``endsLookedUp(_:now:)``; a partition whose leader is down stays
    /// silent however it is restarted, and is left alone). A restart moves fetching and resumes it, which mends a
    /// pause flag or a position out of step at once; it cannot give the partition a new fetcher. librdkafka 2.0.2
    /// can leave one without (its issue #2190: a fetch start or stop outdated by a pause, resume or seek): seeks
    /// then fail with `Local: Erroneous state` (which the driver takes as proof at once) or succeed with nothing
    /// ever delivered (CI on a loaded machine: 60 restarts, 200 waiting records never handled). Only an
    /// assignment starts a new fetcher. With the default 30 s window, after about two minutes.
    static var restartsBeforeAssigningAgain: Int { 3 }

    /// How many more restarts a partition waits for before it is assigned again, when its last `inVain`
    /// reassignments brought nothing either (``reassignsInVain``): twice as many for each, up to 16 times
    /// (3, 6, 12, 24, 48 restarts and the look-up's window: with the default 30 s window 2, 3.5, 6.5, 12.5, then
    /// every 24.5 minutes). With eager assignment a reassignment pauses, flushes and commits every partition, so one
    /// that no reassignment mends (the fault is elsewhere: `ConsumerPartitionStuck` pages for it) must not cost that
    /// every two minutes for hours.
    static func restartsBeforeAssigningAgain(afterInVain inVain: Int) -> Int {
        restartsBeforeAssigningAgain << min(inVain, maximumReassignBackOffDoublings)
    }

    /// The longest back-off between reassignments, as doublings of ``restartsBeforeAssigningAgain``.
    static var maximumReassignBackOffDoublings: Int { 4 }

    /// How often the watch looks (a pass over every partition; a second is far below the shortest window).
    static var fetchCheckIntervalNanos: UInt64 { 1_000_000_000 }

    /// The longest gap between two looks that still counts as the loop listening, for short windows.
    static var fetchCheckGapToleranceNanos: UInt64 { 3_000_000_000 }

    /// The ends asked for by ``EngineAction/lookUpEnds(_:)`` (the log end offset a fetch would stop at: the high
    /// watermark, or the last stable offset when reading committed records). A partition still at the end
    /// librdkafka reported, while the log now ends further on, has records it was not given: restarted at its
    /// next offset to handle (or, if it handled none, where librdkafka said the end was).
    mutating func endsLookedUp(_ ends: [Int32: Int64], now: UInt64) -> [EngineAction] {
        guard lifecycle == .running else { return [] }
        var restarts: [PartitionOffset] = []
        var reassign: [Int32] = []
        for id in ends.keys.sorted() {
            guard let end = ends[id], var state = partitions[id], state.phase == .active, !state.fetchPaused else { continue }
            // Where it stands: its next offset to handle, else where librdkafka said its end was (nothing handled).
            let from = state.position ?? state.endOffset
            if state.fruitlessRestarts >= Self.restartsBeforeAssigningAgain(afterInVain: reassignsInVain[id] ?? 0) {
                // Its leader answered, and the log goes past where it stands (nothing handled and no end reported:
                // any record): records wait that restarts did not bring.
                guard end > (from ?? 0) else { continue }
                state.fruitlessRestarts = 0
                reassign.append(id)
            } else {
                guard state.atEnd, let reported = state.endOffset, end > reported, let offset = from else { continue }
                state.fruitlessRestarts += 1
                restarts.append(PartitionOffset(partition: id, offset: offset))
            }
            partitions[id] = state
        }
        var actions: [EngineAction] = []
        if !restarts.isEmpty { actions.append(.restartFetch(restarts)) }
        if !reassign.isEmpty { actions.append(.assignAgain(reassign, .silentThroughRestarts)) }
        return actions
    }

    /// A restart's seek of these partitions failed with `Local: Erroneous state`: librdkafka has no fetcher for
    /// them. That is proof, and they are assigned again at once — unless the partition's last reassignment brought
    /// nothing either: it then waits for as many restarts as the back-off asks
    /// (``restartsBeforeAssigningAgain(afterInVain:)``), as a silent one does.
    mutating func seekFoundNoFetcher(_ ids: [Int32]) -> [EngineAction] {
        guard lifecycle == .running else { return [] }
        var reassign: [Int32] = []
        for id in Set(ids).sorted() {
            guard var state = partitions[id], state.phase == .active else { continue }
            let inVain = reassignsInVain[id] ?? 0
            guard inVain == 0 || state.fruitlessRestarts >= Self.restartsBeforeAssigningAgain(afterInVain: inVain) else { continue }
            state.fruitlessRestarts = 0
            partitions[id] = state
            reassign.append(id)
        }
        return reassign.isEmpty ? [] : [.assignAgain(reassign, .seekFoundNoFetcher)]
    }

    /// The driver is about to revoke and assign `ids` again for the fetch watch (with eager assignment, every
    /// partition: each is counted, and those that deliver afterwards are cleared at once). Counted here, when it
    /// happens, not when it was decided: a reassignment dropped meanwhile (the assignment lost) counts nothing.
    mutating func assigningAgain(_ ids: [Int32]) {
        for id in ids {
            reassignsInVain[id, default: 0] += 1
            reassigning.insert(id)
        }
    }
}
