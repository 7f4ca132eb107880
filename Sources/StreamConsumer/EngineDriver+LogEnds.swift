/// Where the logs of partitions that are not being fetched end, for `lag_records`, and the fetch watch's
/// look-ups: asked of the ``LogEndProbe`` (a thread of its own), answered on a later pass.
///
/// librdkafka 2.0.2 updates a partition's cached high watermark (what the metrics scrape reads, without a broker
/// round trip) only from fetch responses. A partition that is not fetched keeps the watermark it had:
/// - paused by back-pressure — measured: `lag_records` 100 → 80 while 300 records arrived (`PausedLagTests`);
/// - silent while it should be fetching (what the fetch watch restarts, but only after `FETCH_STALL_SECONDS`) —
///   measured: 0 for a minute with 200 records waiting (`FetchWatchTests`); a "drained" check then passed with
///   two partitions' records never handled (CI, 2026-12-01).
/// So every ``logEndsIntervalNanos`` the ends of the partitions ``DeliveryEngine/logEndsWanted(now:silentNanos:brokersReachable:)``
/// names are looked up and lent to the scrape as known watermarks. A partition that keeps delivering has a fresh
/// cached watermark and is not looked up; an idle one costs a share of one ListOffsets request per leader per
/// interval, on the probe's thread (two while some have nothing handled or committed: their log starts too).
extension EngineDriver {
    /// How often the ends are looked up, and how long a partition must have been silent to be looked up: a few
    /// times per scrape interval (15 s).
    static var logEndsIntervalNanos: UInt64 { 5_000_000_000 }

    /// Takes the probe's answers (every pass: one atomic load when there are none) and, once per interval, asks
    /// for the ends the engine wants — unless the previous look-up is still running.
    func refreshLogEnds(now: UInt64) {
        guard let probe = logEndProbe else { return }
        for answer in probe.takeAnswers() { learn(answer) }
        guard now &- lastLogEndsNanos >= Self.logEndsIntervalNanos, !probe.isBusy else { return }
        lastLogEndsNanos = now
        let unreachable = brokerReachable == false
        let wanted = engine.logEndsWanted(now: now, silentNanos: Self.logEndsIntervalNanos, brokersReachable: !unreachable)
        // Partitions with nothing handled and nothing committed count their lag from the log start (auto.offset.reset
        // earliest), read again on every look-up: retention moves it.
        let startsFor = board.startsAtLogStart ? engine.logStartsWanted(among: wanted) : []
        probe.ask(LogEndProbe.Request(forLag: Set(wanted), startsFor: Set(startsFor), brokerCheck: unreachable))
    }

    /// The fetch watch's ``EngineAction/lookUpEnds(_:)``: answered through ``learn(_:)`` on a later pass.
    func lookUpEndsForWatch(_ ids: [Int32]) {
        guard let probe = logEndProbe else { return }
        probe.ask(LogEndProbe.Request(forWatch: Set(ids)))
    }

    /// Starts the probe (from `run()`): it looks up on the consumer handle, which outlives it (``shutdown()``
    /// stops it before the consumer is closed).
    func startLogEndProbe() {
        let client = ClientHandle(consumer)
        let topic = options.topics.input
        let signal = clients.wakeup?.signal
        logEndProbe = LogEndProbe(
            lookUp: { request, shouldContinue in
                LogEndQuery.ends(
                    client: client.pointer, topic: topic, partitions: request.partitions,
                    starts: request.startsFor.sorted(), shouldContinue: shouldContinue)
            },
            onAnswer: { signal?() })
    }

    private func learn(_ answer: LogEndProbe.Answer) {
        let partitions = engine.partitions
        for (id, end) in answer.ends.ends where partitions[id] != nil {
            learnWatermarks(of: id, low: answer.ends.starts[id], high: end)
        }
        // After an outage the evidence that brokers are back, even when no record comes to say so (an idle input).
        // Counted only if the look-up started after the outage began (``BrokerReachability``): a staggered outage
        // can take the last broker down while a look-up waits for another.
        if answer.ends.answered { observeBrokers(.lookUpAnswered(startedNanos: answer.ends.startedNanos)) }
        if answer.ends.failed.isEmpty {
            if logEndsFailing {
                logEndsFailing = false
                logger.info("partition ends read again")
            }
        } else if brokerReachable != false, !logEndsFailing {
            // Once per run of failures (not every 5 s): their lag is read from librdkafka's cached watermarks
            // meanwhile, which can be behind.
            logEndsFailing = true
            logger.warning("partition ends not read; their lag_records may be too low until they are", metadata: [
                "partitions": "\(answer.ends.failed)", "error": "\(answer.ends.error ?? "unknown")",
            ])
        }
        guard !answer.request.forWatch.isEmpty else { return }
        let watched = answer.ends.ends.filter { answer.request.forWatch.contains($0.key) }
        execute(engine.endsLookedUp(watched, now: Clock.monotonicNanos()))
    }
}
