# syntax=docker/dockerfile:1
#
# caipe-webex-bot image: two stages on the same Node LTS base.
#   build   — full install (dev tools to compile TypeScript, build tools for better-sqlite3),
#             compile to dist/, then prune to the production dependencies.
#   runtime — dist/, the pruned node_modules and package.json; nothing else. Runs as a non-root
#             numeric user (so Kubernetes `runAsNonRoot` can verify it) and writes only under
#             DATA_DIR, so a read-only root filesystem works.
#
# Build:  docker build -t caipe-webex-bot .
# Run:    docker run --env-file .env -p 8080:8080 -v caipe-webex-bot-data:/data caipe-webex-bot
#
# Both stages use NODE_IMAGE. Pin it to a digest you have verified (docs/operations.md, "Pinning
# the base image"):  docker build --build-arg NODE_IMAGE=node:22-bookworm-slim@sha256:<digest> .
# No digest is written here: one that cannot be pulled and checked where this file is built
# would only break the build or be trusted blindly.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 is a native module: its install normally downloads a prebuilt binary, and falls
# back to compiling, which needs these. They stay in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# Dependencies first, so this layer is reused while only sources change. `--ignore-scripts` skips
# `prepare` (there are no sources yet); better-sqlite3's own install script runs via rebuild.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# Set by CI: docker build --build-arg VERSION=… --build-arg REVISION=$(git rev-parse HEAD) --build-arg SOURCE=…
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="caipe-webex-bot" \
      org.opencontainers.image.description="Puts the CAIPE agent platform (A2A) into Webex: streamed plans, tool progress, Adaptive Cards, authorized spaces." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HTTP_PORT=8080
WORKDIR /app
# Owned by root and read-only for the bot's user: the running process cannot change its own code.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The only writable place: the embedded store and inspection logs (a volume, or a PVC/emptyDir
# in Kubernetes). UID/GID 1000 is the `node` user of the official Node images.
RUN mkdir -p /data && chown 1000:1000 /data
VOLUME ["/data"]
USER 1000:1000
EXPOSE 8080
# Slim images have no curl; Node 22's fetch does the probe. Liveness only: readiness (the Webex
# socket and the store) is /readyz, for Kubernetes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself; the bot handles SIGTERM/SIGINT (drain,
# delete its Webex device, exit 0) and starts no child processes, so no init is needed.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
