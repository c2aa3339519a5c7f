# syntax=docker/dockerfile:1
# Example initiator (places orders in one global transaction): HTTP on 7090.
# Build from the repository root:  docker build -f docker/order-service.Dockerfile -t tcc-order-service .
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
RUN npx nest build order-service && node scripts/copy-assets.js
# What stays in node_modules is exactly what the runtime stage ships.
RUN npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production dependencies and the compiled app, as a non-root user ------------------
FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist/apps/order-service ./dist/apps/order-service
# The embedded SQLite default writes under ./data; the only directory the app user may write.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 7090
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:7090/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/apps/order-service/main.js"]
