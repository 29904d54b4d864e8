# syntax=docker/dockerfile:1
# One multi-stage build over the workspace; each service is a target:
#   docker build --target api -t mlmon/api .
# Every target runs its compiled service with node as PID 1 (so SIGTERM reaches it and it drains),
# as the unprivileged `node` user, with a healthcheck.
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# onnxruntime-node's install script downloads binaries its CPU build already ships.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json tsconfig.base.json tsconfig.build.json ./
COPY common/contract/package.json common/contract/
COPY common/runtime/package.json common/runtime/
COPY elasticsearch/package.json elasticsearch/
COPY api/package.json api/
COPY log-shipper/package.json log-shipper/
COPY analyzer/package.json analyzer/
COPY alertmanager/package.json alertmanager/
COPY watcher-rules/package.json watcher-rules/
COPY remediator/package.json remediator/
COPY nginx/package.json nginx/
COPY kibana/package.json kibana/
COPY cli/package.json cli/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    MLMON_LOG_DIR=/var/log/mlmon
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /var/log/mlmon /var/lib/mlmon && chown node:node /var/log/mlmon /var/lib/mlmon
USER node

FROM runtime AS api
ENV MLMON_API_HOST=0.0.0.0 MLMON_API_PORT=9001
EXPOSE 9001
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.MLMON_API_PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "api/dist/main.js"]

FROM runtime AS log-shipper
ENV MLMON_SHIPPER_GLOBS=/var/log/mlmon/*.ndjson MLMON_SHIPPER_STATE_DIR=/var/lib/mlmon/shipper
# Healthy while it writes its status line (every MLMON_SHIPPER_STATUS_INTERVAL, 10s).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD ["node", "-e", "const s = require('fs').statSync(`${process.env.MLMON_LOG_DIR}/log-shipper.ndjson`); process.exit(Date.now() - s.mtimeMs < 60000 ? 0 : 1)"]
CMD ["node", "log-shipper/dist/main.js"]

FROM runtime AS analyzer
ENV MLMON_ANALYZER_STATE_DIR=/var/lib/mlmon/analyzer
# Healthy while it keeps its state (written on every tick, MLMON_ANALYZER_INTERVAL).
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s \
  CMD ["node", "-e", "const s = require('fs').statSync(`${process.env.MLMON_ANALYZER_STATE_DIR}/state.json`); process.exit(Date.now() - s.mtimeMs < 300000 ? 0 : 1)"]
CMD ["node", "analyzer/dist/main.js"]

FROM runtime AS rule-runner
# Healthy while it writes its alert log's status lines (every MLMON_RULES_STATUS_INTERVAL, 1m).
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s \
  CMD ["node", "-e", "const s = require('fs').statSync(`${process.env.MLMON_LOG_DIR}/rule-runner.ndjson`); process.exit(Date.now() - s.mtimeMs < 180000 ? 0 : 1)"]
CMD ["node", "watcher-rules/dist/main.js"]

FROM runtime AS remediator
ENV MLMON_REMEDIATOR_HOST=0.0.0.0 MLMON_REMEDIATOR_PORT=8070 MLMON_REMEDIATOR_STATE_FILE=/var/lib/mlmon/remediator/state.json
EXPOSE 8070
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.MLMON_REMEDIATOR_PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "remediator/dist/main.js"]

# The one-shot setup job (templates, lifecycle, roles, watches, Kibana objects) and the mlmon CLI.
FROM runtime AS cli
ENTRYPOINT ["node", "cli/dist/main.js"]
CMD ["--help"]
