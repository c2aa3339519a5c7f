#!/usr/bin/env bash
# The pictures of README "Operating it", from a real run: the coordinator and the two example
# services from dist/ on embedded SQLite files, a few hundred orders placed through the order
# service, Debian's Prometheus scraping the three apps with docker/prometheus/alerts.yml loaded,
# and headless Chromium screenshots of its targets, alerts and a graph, into docs/pictures/.
#
#   npm run build && bash scripts/ops-snapshot.sh [output-dir]
#
# Needs /usr/bin/prometheus (Debian's "prometheus") and /usr/bin/chromium. Every port is a free one
# picked at start; every process it starts is stopped by its pid on exit, and its files live in a
# temporary directory removed then. SNAPSHOT_ORDERS (default 300) orders are placed over at least
# SNAPSHOT_LOAD_SECONDS (default 120) so the graph has a shape. The coordinator uses Redis at
# SNAPSHOT_REDIS_URL (default redis://127.0.0.1:6379, under a key prefix of its own; set it empty
# to run without Redis, where the TccRedisDown rule fires as its description says).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-docs/pictures}
ORDERS=${SNAPSHOT_ORDERS:-300}
LOAD_SECONDS=${SNAPSHOT_LOAD_SECONDS:-120}
REDIS_URL=${SNAPSHOT_REDIS_URL-redis://127.0.0.1:6379}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

for need in "$PROMETHEUS" "$CHROMIUM" dist/apps/coordinator/main.js dist/apps/account-service/main.js dist/apps/order-service/main.js; do
  [ -e "$need" ] || { echo "ops-snapshot: $need is missing (npm run build; apt-get install prometheus chromium)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/tcc-ops-snapshot.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# wait_http URL WHAT: polls until URL answers 2xx (at most 60 s).
wait_http() {
  for _ in $(seq 600); do
    if curl -sf -o /dev/null "$1"; then return 0; fi
    sleep 0.1
  done
  echo "ops-snapshot: $2 did not answer at $1; logs in $WORK" >&2
  tail -20 "$WORK"/*.log >&2 || true
  exit 1
}

COORDINATOR_PORT=$(free_port)
ACCOUNT_PORT=$(free_port)
ORDER_PORT=$(free_port)
PROMETHEUS_PORT=$(free_port)
API_KEY="snapshot-$(node -e "console.log(require('crypto').randomBytes(12).toString('hex'))")"

echo "coordinator :$COORDINATOR_PORT, account-service :$ACCOUNT_PORT, order-service :$ORDER_PORT, prometheus :$PROMETHEUS_PORT (files in $WORK)"

env TCC_HOST=127.0.0.1 TCC_HTTP_PORT="$COORDINATOR_PORT" TCC_GRPC_PORT=0 TCC_SQLITE_PATH="$WORK/coordinator.sqlite" \
  TCC_API_KEYS="orders=$API_KEY" TCC_LOG_LEVEL=warn \
  ${REDIS_URL:+TCC_REDIS_URL="$REDIS_URL" TCC_REDIS_PREFIX="ops-snapshot-$$:"} \
  node dist/apps/coordinator/main.js >"$WORK/coordinator.log" 2>&1 &
PIDS+=($!)
env ACCOUNT_HOST=127.0.0.1 ACCOUNT_HTTP_PORT="$ACCOUNT_PORT" ACCOUNT_GRPC_PORT=0 ACCOUNT_SQLITE_PATH="$WORK/account.sqlite" ACCOUNT_LOG_LEVEL=warn \
  node dist/apps/account-service/main.js >"$WORK/account.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$COORDINATOR_PORT/health/ready" coordinator
wait_http "http://127.0.0.1:$ACCOUNT_PORT/health/ready" account-service
env ORDER_HOST=127.0.0.1 ORDER_HTTP_PORT="$ORDER_PORT" ORDER_SQLITE_PATH="$WORK/order.sqlite" ORDER_LOG_LEVEL=warn \
  TCC_COORDINATOR_URL="http://127.0.0.1:$COORDINATOR_PORT" TCC_API_KEY="$API_KEY" ACCOUNT_SERVICE_URL="http://127.0.0.1:$ACCOUNT_PORT" \
  node dist/apps/order-service/main.js >"$WORK/order.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$ORDER_PORT/health/ready" order-service

# The same jobs and rules as docker/prometheus/prometheus.yml, on this host's ports, scraped often.
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 2s
  evaluation_interval: 2s
rule_files:
  - $ROOT/docker/prometheus/alerts.yml
scrape_configs:
  - job_name: coordinator
    static_configs: [{ targets: ["127.0.0.1:$COORDINATOR_PORT"] }]
  - job_name: account-service
    static_configs: [{ targets: ["127.0.0.1:$ACCOUNT_PORT"] }]
  - job_name: order-service
    static_configs: [{ targets: ["127.0.0.1:$ORDER_PORT"] }]
EOF
"$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prometheus-data" \
  --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --log.level=warn >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" prometheus

# The load: five accounts, then orders of random amounts, every tenth paid one refunded (a saga),
# spread over LOAD_SECONDS; once an account runs low, orders above what is left are refused (409)
# and their transactions rolled back.
ORDER_URL="http://127.0.0.1:$ORDER_PORT" ACCOUNT_URL="http://127.0.0.1:$ACCOUNT_PORT" ORDERS="$ORDERS" LOAD_SECONDS="$LOAD_SECONDS" node -e '
  const { ORDER_URL, ACCOUNT_URL } = process.env;
  const orders = Number(process.env.ORDERS), seconds = Number(process.env.LOAD_SECONDS);
  const post = (url, body) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body ?? {}) })
    .then(async (r) => ({ status: r.status, body: await r.json().catch(() => ({})) }));
  (async () => {
    const run = Date.now().toString(36);
    const accounts = [1, 2, 3, 4, 5].map((i) => `acct-${run}-${i}`);
    for (const id of accounts) await post(`${ACCOUNT_URL}/accounts`, { id, balance: 120000 });
    const counts = {};
    const start = Date.now();
    for (let i = 0; i < orders; i++) {
      const due = start + (i * seconds * 1000) / orders;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const amount = 500 + Math.floor(Math.random() * 6000);
      const { status, body } = await post(`${ORDER_URL}/orders`, { accountId: accounts[i % accounts.length], amount });
      counts[status] = (counts[status] ?? 0) + 1;
      if (status === 201 && i % 10 === 0) {
        const refund = await post(`${ORDER_URL}/orders/${body.id}/refund`);
        counts[`refund ${refund.status}`] = (counts[`refund ${refund.status}`] ?? 0) + 1;
      }
    }
    console.log("orders placed:", JSON.stringify(counts));
  })().catch((e) => { console.error(e); process.exit(1); });
'

# Wait until Prometheus has scraped all three up and evaluated the rules after the load.
PROM="http://127.0.0.1:$PROMETHEUS_PORT"
for _ in $(seq 300); do
  up=$(curl -sf "$PROM/api/v1/query" --data-urlencode 'query=sum(up)' | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s).data.result;console.log(r.length?r[0].value[1]:0)})')
  rules=$(curl -sf "$PROM/api/v1/rules" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const g=JSON.parse(s).data.groups;console.log(g.reduce((n,x)=>n+x.rules.filter(r=>r.lastEvaluation&&!r.lastEvaluation.startsWith("0001")).length,0))})')
  [ "$up" = 3 ] && [ "$rules" -gt 0 ] && break
  sleep 0.2
done
echo "prometheus: $up targets up, $rules rules evaluated"

mkdir -p "$OUT"
shoot() {
  local name=$1 url=$2 size=$3
  "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$WORK/chromium" \
    --virtual-time-budget=8000 --window-size="$size" --screenshot="$OUT/$name" "$url" >"$WORK/chromium.log" 2>&1
  echo "$OUT/$name: $(stat -c %s "$OUT/$name") bytes"
}
GRAPH_EXPR=$(node -e 'console.log(encodeURIComponent("sum by (mode, outcome) (rate(tcc_transactions_total[1m]))"))')
# Debian's Prometheus serves the classic web UI, under /classic.
shoot prometheus-targets.png "$PROM/classic/targets" 1280,720
shoot prometheus-alerts.png "$PROM/classic/alerts" 1280,1180
shoot prometheus-graph.png "$PROM/classic/graph?g0.expr=$GRAPH_EXPR&g0.tab=0&g0.stacked=0&g0.range_input=3m" 1280,900
