# syntax=docker/dockerfile:1
# The TCC coordinator: HTTP API on 7070, gRPC on 7071. `node dist/apps/coordinator/main.js migrate` applies its migrations.
# Build from the repository root:  docker build -f docker/coordinator.Dockerfile -t tcc-coordinator .
# The same commands run outside Docker in CI (docker/check-dockerfiles.js checks they still match).

# ---- build: all dependencies, compile, then drop the dev dependencies ----------------------------
FROM node:20-slim AS build
# better-sqlite3 (the embedded default store) compiles from source when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json .swcrc ./
COPY apps ./apps
COPY libs ./libs
COPY migrations ./migrations
COPY scripts ./scripts
# The same steps as `npm run build` for this one app: compile, then ship the .proto files beside it.
RUN npx nest build coordinator && node scripts/copy-assets.js
# What stays in node_modules is exactly what the runtime stage ships.
RUN npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production dependencies and the compiled app, as a non-root user ------------------
FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist/apps/coordinator ./dist/apps/coordinator
# The embedded SQLite default writes under ./data; the only directory the app user may write.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 7070 7071
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:7070/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/apps/coordinator/main.js"]
