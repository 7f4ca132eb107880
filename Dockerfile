# syntax=docker/dockerfile:1
# consumerd container image: a Swift toolchain stage builds the release binary (static Swift standard
# library), a slim Debian stage runs it as a non-root user with librdkafka from Debian.
#
#   docker build -t consumerd:0.1.0 .
#   docker run --rm -p 8001:8001 consumerd:0.1.0 demo          # embedded mock cluster + bundled ticks
#   docker run --rm -e KAFKA_BOOTSTRAP_SERVERS=broker:9092 -p 8001:8001 consumerd:0.1.0
#
# Linted by hadolint in scripts/deploy/check.sh; the image itself is not built by the tests (no container
# engine on the test machines). Kubernetes manifests using it: deploy/kubernetes/.

FROM swift:6.3-bookworm AS build
# Debian stable's versions are not pinned: point releases replace them, and the image is rebuilt on its base.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first: this layer is rebuilt only when the manifest changes.
COPY Package.swift ./
RUN swift package resolve
# Tests/ too: SwiftPM validates every target of the manifest, test targets included, before it builds one.
COPY Sources ./Sources
COPY Tests ./Tests
# libcurl: the static FoundationNetworking (model registry client) needs it linked explicitly.
RUN swift build -c release --static-swift-stdlib -Xlinker -lcurl --product consumerd \
    && install -D -m 0755 "$(swift build -c release --static-swift-stdlib -Xlinker -lcurl --show-bin-path)/consumerd" /out/usr/bin/consumerd \
    && strip /out/usr/bin/consumerd
COPY config/models/ /out/usr/share/consumerd/models/
COPY config/demo/coinbase-btc-usd-ticker.ndjson /out/usr/share/consumerd/demo/

FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends librdkafka1 libcurl4 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 consumerd \
    && useradd --system --uid 10001 --gid consumerd --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin consumerd
COPY --from=build /out/ /
USER 10001:10001
# Data files are found in /usr/share/consumerd/ (the working directory has none); the model cache is a
# writable volume in Kubernetes (deploy/kubernetes/deployment.yaml).
WORKDIR /
ENV METRICS_HOST=0.0.0.0 METRICS_PORT=8001 LOG_FORMAT=json MODEL_CACHE_DIR=/var/cache/consumerd
EXPOSE 8001
# SIGTERM starts the graceful stop (shutdown budget 17 s, docs/RUNBOOK.md): give `docker stop -t 30`.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8001/healthz"]
ENTRYPOINT ["/usr/bin/consumerd"]
CMD ["run"]
