import Crdkafka

/// The hot path: a fetched record → the handler → outputs handed to the producer; delivery reports back.
extension EngineDriver {
    // Specialised: see `run()`.
    @_specialize(exported: false, where Commits == AtLeastOnceCommits)
    @_specialize(exported: false, where Commits == ExactlyOnceCommits)
    func process(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        defer { rd_kafka_message_destroy(message) }
        let now = Clock.monotonicNanos()
        guard let admitted = admit(message, now: now) else { return }
        let record = KafkaMessage.record(message, topic: options.topics.input)
        extraOutputs.removeAll()
        let disposition = handler.handle(record, output: &outputBuffer, extras: &extraOutputs)
        produceOutputs(of: admitted, record: record, disposition: disposition, output: outputBuffer, extras: extraOutputs, now: now)
    }

    /// The engine's verdict on a fetched message: `nil` when it is not handled now (an error or end-of-partition
    /// event, a partition not active, a transaction that failed to begin). Does not destroy the message.
    // Specialised: see `run()`.
    @_specialize(exported: false, where Commits == AtLeastOnceCommits)
    @_specialize(exported: false, where Commits == ExactlyOnceCommits)
    func admit(_ message: UnsafeMutablePointer<rd_kafka_message_t>, now: UInt64) -> RecordBatch.Admitted? {
        let partition = message.pointee.partition
        guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if message.pointee.err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                engine.reachedEnd(partition: partition, offset: message.pointee.offset, now: now)
            } else {
                observer.kafkaError("consume from \(options.topics.input) [\(partition)]: \(KafkaError.text(message.pointee.err))", fatal: false)
            }
            return nil
        }
        if brokerReachable == nil { observeBrokers(.recordOrAcknowledgement) }  // counts at start-up only
        let timestampMs = KafkaMessage.timestampMs(message)
        let timestamp = timestampMs.map { Double($0) / 1000 }
        guard case .handle(let ticket, let begin) = engine.fetched(
            partition: partition, offset: message.pointee.offset, timestamp: timestamp, now: now
        ) else {
            return nil  // not ours (any more), or not active yet: read again when it resumes
        }
        caughtUpReported = false
        catchUp.recordHandled()
        if begin {
            transactionOffsetsSent = false
            if let error = Transactions.begin(producer) {
                fail(error)
                return nil
            }
        }
        return RecordBatch.Admitted(message: message, ticket: ticket, timestamp: timestamp, timestampMs: timestampMs)
    }

    /// Hands the outputs the handler made of one admitted input to the producer, then tells the engine the input
    /// has all its outputs. `now`: when they are handed over (their produce-to-acknowledgement time starts).
    // Specialised: see `run()`.
    @_specialize(exported: false, where Commits == AtLeastOnceCommits)
    @_specialize(exported: false, where Commits == ExactlyOnceCommits)
    func produceOutputs(
        of admitted: RecordBatch.Admitted, record: ConsumedRecord, disposition: RecordDisposition, output: [UInt8],
        extras: ExtraOutputs, now: UInt64
    ) {
        let ticket = admitted.ticket
        let timestamp = admitted.timestamp
        switch disposition {
        case .skip:
            break
        case .publish(var key, let kind):
            let slot = engine.outputCreated(for: ticket, kind: kind, sourceTimestamp: timestamp, now: now)
            key.withUTF8 { keyBytes in
                output.withUnsafeBytes { valueBytes in
                    produce(slot: slot, topic: outputTopic, key: UnsafeRawBufferPointer(keyBytes), value: valueBytes, headers: nil, timestampMs: nil)
                }
            }
        case .deadLetter(let deadLetter):
            let slot = engine.outputCreated(for: ticket, kind: .deadLetter(errorType: deadLetter.errorType), sourceTimestamp: timestamp, now: now)
            let value = record.value
            let kept = deadLetter.truncateTo.map { min($0, value.count) } ?? value.count
            produce(
                slot: slot, topic: deadLetterTopic, key: record.key,
                value: UnsafeRawBufferPointer(rebasing: value[0..<kept]),
                headers: DeadLetterHeaders.make(deadLetter, source: record), timestampMs: admitted.timestampMs
            )
        }
        for index in 0..<extras.count {
            extras.withOutput(at: index) { extra, key, value in
                let slot = engine.outputCreated(for: ticket, kind: .extra(extra), sourceTimestamp: timestamp, now: now)
                produce(slot: slot, topic: topic(for: .extra(extra)), key: key, value: value, headers: nil, timestampMs: nil)
            }
        }
        // Every output of this input was created: from now on it completes when they are acknowledged.
        engine.inputHandled(ticket)
    }

    /// Hands one output to librdkafka; waits (serving callbacks, records kept in the backlog) while its queue is
    /// full. A produce that fails otherwise is kept for a retry, as a failed delivery is.
    func produce(
        slot: Int, topic: OwnedCString, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer,
        headers: OpaquePointer?, timestampMs: Int64?
    ) {
        while true {
            let error = Producing.produce(
                producer, topic: topic.pointer, key: key, value: value, headers: headers,
                timestampMs: timestampMs, opaque: InflightTable.opaque(for: slot)
            )
            if error == RD_KAFKA_RESP_ERR_NO_ERROR { return }
            if error == RD_KAFKA_RESP_ERR__QUEUE_FULL, !stop.isRequested, !produceDeadlinePassed() {
                observer.heartbeat()
                // Inside a rebalance callback the consumer is not polled again (librdkafka is serving it). A
                // rebalance served here finds this input's outputs only partly produced.
                if callbackDepth == 0 {
                    midInput = true
                    keepConsumerAlive()
                    midInput = false
                }
                rd_kafka_poll(producer, 50)
                continue
            }
            let now = Clock.monotonicNanos()
            let result = DeliveryResult.refusedProduce(queueFull: error == RD_KAFKA_RESP_ERR__QUEUE_FULL, stopping: stop.isRequested)
            switch engine.delivered(slot: slot, result: result, now: now) {
            case .retry(let record):
                observer.deliveryFailed(kind: record.kind, error: KafkaError.text(error))
                retries[slot] = PendingRetry(slot: slot, topic: topic, key: key, value: value, headers: headers, timestampMs: timestampMs)
            case .dropped(let record):
                if result == .failed { observer.deliveryFailed(kind: record.kind, error: KafkaError.text(error)) }
                if let headers { rd_kafka_headers_destroy(headers) }
            case .acknowledged, .unknown:
                if let headers { rd_kafka_headers_destroy(headers) }
            }
            return
        }
    }

    /// Called by librdkafka (inside `rd_kafka_poll(producer)`, on the processing thread) once per output.
    // Specialised: see `run()`.
    @_specialize(exported: false, where Commits == AtLeastOnceCommits)
    @_specialize(exported: false, where Commits == ExactlyOnceCommits)
    func deliveryReport(_ message: UnsafePointer<rd_kafka_message_t>) {
        let slot = InflightTable.index(from: message.pointee._private)
        let error = message.pointee.err
        let result: DeliveryResult = switch error {
        case RD_KAFKA_RESP_ERR_NO_ERROR: .delivered
        case RD_KAFKA_RESP_ERR__PURGE_QUEUE, RD_KAFKA_RESP_ERR__PURGE_INFLIGHT: .purged
        default: .failed
        }
        let now = Clock.monotonicNanos()
        switch engine.delivered(slot: slot, result: result, now: now) {
        case .acknowledged(let record):
            if brokerReachable == nil { observeBrokers(.recordOrAcknowledgement) }  // counts at start-up only
            catchUp.recordDelivery(atNanos: now)
            let elapsed = Double(now &- record.producedAtNanos) / 1e9
            observer.delivered(Delivery(kind: record.kind, sourceTimestamp: record.sourceTimestamp, produceToAckSeconds: elapsed))
        case .retry(let record):
            observer.deliveryFailed(kind: record.kind, error: KafkaError.text(error))
            retries[slot] = PendingRetry(slot: slot, topic: topic(for: record.kind), message: message)
        case .dropped(let record):
            observer.deliveryFailed(kind: record.kind, error: KafkaError.text(error))
        case .unknown:
            break
        }
    }

    /// The topic an output of `kind` goes to.
    func topic(for kind: OutputKind) -> OwnedCString {
        switch kind {
        case .prediction: outputTopic
        case .deadLetter: deadLetterTopic
        case .extra(let extra): extraTopics[extra.index]
        }
    }

    func fail(_ error: KafkaError) {
        fatalClientError = error
        observer.kafkaError("\(error.operation): \(error.message)", fatal: true)
    }
}

extension OutputKind {
    var isDeadLetter: Bool {
        if case .deadLetter = self { return true }
        return false
    }
}
