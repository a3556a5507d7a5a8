# exp: one image with both programs (exp-e and exp-c), and a small SIP endpoint image for the
# docker-compose demo (deploy/compose/). Build from the repository root:
#   docker build -t exp .                              # the programs (default target)
#   docker build -t exp-sip-endpoint --target sip-endpoint .
# The compose demo builds both itself: docker compose -f deploy/compose/docker-compose.yml up

# --- build: the release binaries -------------------------------------------------------------
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p exp-e -p exp-c \
 && strip target/release/exp-e target/release/exp-c

# --- a SIP user agent for the demo (baresip, headless, tone source) --------------------------
FROM debian:bookworm-slim AS sip-endpoint
# A 60 s, 8 kHz mono tone for the microphone (baresip's own tone source needs 48 kHz).
RUN apt-get update \
 && apt-get install -y --no-install-recommends baresip-core sox \
 && mkdir -p /usr/share/exp-demo \
 && sox -n -r 8000 -c 1 -b 16 /usr/share/exp-demo/tone.wav synth 60 sine 440 vol 0.3 \
 && apt-get purge -y sox && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --create-home --shell /usr/sbin/nologin sip
USER sip
ENTRYPOINT ["baresip", "-f", "/etc/baresip"]

# --- runtime: the programs only, as an unprivileged user -------------------------------------
FROM debian:bookworm-slim AS runtime
RUN useradd --system --no-create-home --shell /usr/sbin/nologin exp
COPY --from=build /src/target/release/exp-e /src/target/release/exp-c /usr/local/bin/
USER exp
# exp-e by default; run exp-c with `--entrypoint exp-c`. Without --config both run on their
# embedded defaults (docs/configuration.md).
ENTRYPOINT ["exp-e"]
