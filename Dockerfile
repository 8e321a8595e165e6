# Headroom's production image: compiled JavaScript on Node 24 LTS, production dependencies only,
# running as an unprivileged user. Build: docker build -t headroom:0.1.0 .
# Not built in this repository's CI (no Docker engine there); test/unit/deploy.test.ts checks its shape.

# --- build: install everything, compile server (and the web pages when present), drop dev deps
FROM node:24-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run -s build && npm prune --omit=dev --no-audit --no-fund

# --- runtime
FROM node:24-bookworm-slim
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 DATA_DIR=/var/lib/headroom
WORKDIR /app
RUN groupadd --system --gid 10001 headroom \
 && useradd --system --uid 10001 --gid headroom --home-dir /var/lib/headroom headroom \
 && mkdir -p /var/lib/headroom && chown headroom:headroom /var/lib/headroom
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
# The web dashboard's built pages (served at /ui/; server/http/web-ui.ts finds them beside dist/).
COPY --from=build --chown=root:root /app/web/dist ./web/dist
USER 10001:10001
EXPOSE 8080
# /healthz answers without a token and without touching PostgreSQL.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and gets SIGTERM itself; the server drains and stops on it.
CMD ["node", "dist/server/main.js"]
