import Crdkafka
import Foundation
import Logging

/// The fetch watch's restarts, executed with librdkafka (see ``DeliveryEngine/checkFetching(now:brokersReachable:)``).
extension EngineDriver {
    /// Asks the engine whether a partition that should be delivering has gone silent (it looks about once a
    /// second). Not while fetched records wait in the backlog: the engine has not seen them yet.
    func watchFetching(now: UInt64) {
        if options.fetchFault != nil { injectFetchFault() }
        guard backlogHead >= backlog.count else { return }
        let actions = engine.checkFetching(now: now, brokersReachable: brokerReachable != false)
        if !actions.isEmpty { execute(actions) }
    }

    /// Moves each silent partition's fetching to `offsets` and waits for librdkafka to confirm (a seek asked for
    /// without waiting has its errors dropped by librdkafka 2.0.2), then resumes them: a pause flag out of step
    /// with the engine's view is cleared, and a partition that was not paused is not affected.
    func restartFetch(_ offsets: [PartitionOffset]) {
        let topic = options.topics.input
        let ids = offsets.map(\.partition)
        for entry in offsets {
            var low: Int64 = -1
            var high: Int64 = -1
            _ = rd_kafka_get_watermark_offsets(consumer, topic, entry.partition, &low, &high)
            let state = engine.partitions[entry.partition]
            logger.warning("partition delivered nothing while it should have: fetching restarted", metadata: [
                "topic": "\(topic)", "partition": "\(entry.partition)", "from_offset": "\(entry.offset)",
                "silent_seconds": "\(Double(options.fetchStallNanos) / 1e9)",
                "position": "\(state?.position.map(String.init) ?? "none")",
                "low_watermark": "\(low)", "high_watermark": "\(high)",
            ])
        }
        let list = PartitionList(topic: topic, offsets: offsets)
        var withoutFetcher: [Int32] = []
        if let error = list.withPointer({ rd_kafka_seek_partitions(consumer, $0, Self.restartSeekTimeoutMs) }) {
            let failure = KafkaError(operation: "restart fetching \(topic) \(offsets)", consuming: error)
            logger.warning("fetch restart: seek failed; resuming anyway, the watch tries again", metadata: ["error": "\(failure.message)"])
        } else {
            for entry in list.entries where entry.error != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.warning("fetch restart: seek of one partition failed; the watch tries again", metadata: [
                    "partition": "\(entry.partition)", "error": "\(KafkaError.text(entry.error))",
                ])
                if entry.error == RD_KAFKA_RESP_ERR__STATE { withoutFetcher.append(entry.partition) }
            }
        }
        PartitionList(topic: topic, partitions: ids).withPointer { _ = rd_kafka_resume_partitions(consumer, $0) }
        observer.fetchRestarted(partitions: ids.count)
        // Proof of no fetcher: assigned again after the pass has polled the consumer (``repairFetchers()``; a
        // rebalance queued meanwhile is served first, and the repair is not taken by librdkafka as the answer to
        // it), unless the engine's back-off holds it (a reassignment of it brought nothing either).
        if !withoutFetcher.isEmpty { execute(engine.seekFoundNoFetcher(withoutFetcher)) }
    }

    /// Logs why partitions are about to be assigned again (``EngineAction/assignAgain(_:_:)``), with when the next
    /// reassignment of each would come if this one brings nothing either.
    func logFetcherRepair(_ ids: [Int32], _ repair: FetcherRepair) {
        let engineType = type(of: engine)
        let before = ids.map { engine.reassignsInVain[$0] ?? 0 }
        var metadata: Logger.Metadata = [
            "topic": "\(options.topics.input)", "partitions": "\(ids)", "reassigned_before_in_vain": "\(before)",
            "next_after_restarts": "\(before.map { engineType.restartsBeforeAssigningAgain(afterInVain: $0 + 1) })",
        ]
        switch repair {
        case .seekFoundNoFetcher:
            logger.error("a restart's seek found no fetcher (Local: Erroneous state, librdkafka #2190): assigning partitions again", metadata: metadata)
        case .silentThroughRestarts:
            metadata["restarts_in_vain"] = "\(before.map { engineType.restartsBeforeAssigningAgain(afterInVain: $0) })"
            logger.warning("partitions stayed silent through their restarts with records waiting: assigning them again", metadata: metadata)
        }
    }

    /// Called once per pass, after the consumer was polled: assigns again (``assignAgain(_:)``) the partitions a
    /// restart found without a fetcher, or that restarts did not bring back (``EngineAction/assignAgain(_:_:)``), if
    /// they are still active in the engine and the assignment is not lost (a lost assignment goes through its own
    /// callback).
    func repairFetchers() {
        guard !fetchRepairs.isEmpty else { return }
        let wanted = fetchRepairs
        fetchRepairs = []
        guard rd_kafka_assignment_lost(consumer) == 0 else { return }
        let ids = wanted.filter { engine.partitions[$0]?.phase == .active }.sorted()
        if !ids.isEmpty { assignAgain(ids) }
    }

    /// Partitions whose restart's seek failed with `Local: Erroneous state` have no fetcher (and those that
    /// restarts did not bring back while records wait may have a detached one; each reassignment in vain doubles
    /// the restarts before the next, ``DeliveryEngine/restartsBeforeAssigningAgain(afterInVain:)``): librdkafka 2.0.2 drops a partition's fetch start when a pause or resume of it comes while the start is still queued (the pause's
    /// version barrier outdates it; librdkafka issue #2190, `rd_kafka_toppar_op_serve`), and seen once in a
    /// benchmark catch-up: partition 63 of 64 was never fetched, and each restart failed so for 17 minutes. A seek
    /// cannot start a fetcher and a resume does nothing; only an assignment does. So they are revoked and assigned
    /// again through the rebalance path, as a group rebalance would: in-flight outputs flushed and offsets committed
    /// first, then the committed offsets looked up, state kept where the position is unchanged, and the partitions
    /// resumed. Eager assignment can only replace the whole assignment, so every partition goes through it;
    /// cooperative, only these. The group itself is not involved (the assignment stays this member's). As with a
    /// rebalance, librdkafka's unassign also commits the offsets stored before the flush, so with eager
    /// assignment a partition whose committed offset then trails its position is rebuilt and replays that tail
    /// (duplicates, never a loss).
    func assignAgain(_ ids: [Int32]) {
        let topic = options.topics.input
        let partitions = clients.isCooperative ? ids : engine.partitions.keys.sorted()
        logger.warning("partitions assigned again for a new fetcher", metadata: [
            "topic": "\(topic)", "partitions": "\(ids)", "reassigned": "\(partitions)",
        ])
        engine.assigningAgain(partitions)
        let list = PartitionList(topic: topic, partitions: partitions)
        list.withPointer { pointer in
            rebalance(RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS, partitions: pointer)
            rebalance(RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, partitions: pointer)
        }
    }

    /// How long a restart waits for librdkafka to confirm its seeks: a local operation (no broker round trip),
    /// but answered by the partition's broker thread, which a loaded machine can keep busy for seconds (2 s timed
    /// out once in CI); as long as the other bounded calls on the loop, well inside the liveness window.
    static var restartSeekTimeoutMs: Int32 { 5_000 }

    /// ``StreamProcessorOptions/fetchFault``: once the faulty partition has handled a record and reached its end,
    /// it is paused in librdkafka behind the engine's back (once), as a pause flag left out of step would leave
    /// it, or its fetcher is stopped, as a dropped fetch start leaves it: records that arrive later are never
    /// fetched. (Earlier, librdkafka 2.0.2 still hands out what it had prefetched — on the mock cluster the whole
    /// partition — so the fault would not show.)
    private func injectFetchFault() {
        guard let fault = options.fetchFault, !fetchFaultInjected else { return }
        let partition = fault.partition
        guard let state = engine.partitions[partition], state.position != nil, state.atEnd else { return }
        fetchFaultInjected = true
        let list = PartitionList(topic: options.topics.input, partitions: [partition])
        switch fault {
        case .pauseBehindEngine:
            list.withPointer { _ = rd_kafka_pause_partitions(consumer, $0) }
            logger.warning("fault injection: partition paused behind the engine", metadata: ["partition": "\(partition)"])
        case .stopFetcherBehindEngine:
            let stopped = stopFetcher(partition, at: state.position ?? 0)
            logger.warning("fault injection: fetcher stopped behind the engine", metadata: [
                "partition": "\(partition)", "confirmed": "\(stopped)",
            ])
        }
    }

    /// Unassigns `partition` behind the engine until librdkafka says it has no fetcher (a seek fails with
    /// `Local: Erroneous state`). librdkafka 2.0.2's own unassign sends the fetch stop and then a resume of the
    /// partition's library pause flag, whose version barrier can outdate that stop when the partition is
    /// paused: the fetcher is then left detached but "active", and a seek still succeeds. Then the partition is
    /// assigned at `offset` and unassigned again (a few attempts). Test-only.
    private func stopFetcher(_ partition: Int32, at offset: Int64) -> Bool {
        let topic = options.topics.input
        let cooperative = clients.isCooperative
        let here = [PartitionOffset(partition: partition, offset: offset)]
        for _ in 0..<5 {
            if cooperative {
                PartitionList(topic: topic, partitions: [partition]).withPointer {
                    rd_kafka_error_destroy(rd_kafka_incremental_unassign(consumer, $0))
                }
            } else {
                rd_kafka_assign(consumer, nil)
            }
            for _ in 0..<20 {
                let probe = PartitionList(topic: topic, offsets: here)
                if let error = probe.withPointer({ rd_kafka_seek_partitions(consumer, $0, 2_000) }) {
                    rd_kafka_error_destroy(error)
                } else if probe.entries.first?.error == RD_KAFKA_RESP_ERR__STATE {
                    return true
                } else if probe.entries.first?.error == RD_KAFKA_RESP_ERR_NO_ERROR {
                    break  // the stop was outdated: the fetcher runs on, detached
                }
                Thread.sleep(forTimeInterval: 0.05)  // stopping: look again
            }
            let again = PartitionList(topic: topic, offsets: here)
            if cooperative {
                again.withPointer { rd_kafka_error_destroy(rd_kafka_incremental_assign(consumer, $0)) }
            } else {
                again.withPointer { _ = rd_kafka_assign(consumer, $0) }
            }
        }
        return false
    }
}
