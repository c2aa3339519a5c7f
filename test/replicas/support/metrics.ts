/** Reads a replica's Prometheus text (/metrics) and picks samples out of it by name and labels. */
import { request } from 'undici';

export async function scrape(baseUrl: string, timeoutMs = 5_000): Promise<string> {
  const res = await request(`${baseUrl}/metrics`, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET /metrics answered ${res.statusCode}: ${text.slice(0, 200)}`);
  return text;
}

function parseLabels(raw: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!raw) return labels;
  for (const match of raw.matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]] = match[2];
  return labels;
}

/**
 * The sum of every sample of `name` whose labels include `labels` (all of them when none given);
 * undefined when the metric has no such sample at all.
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let found = false;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = parseLabels(match[2]);
    if (Object.entries(labels).some(([k, v]) => have[k] !== v)) continue;
    found = true;
    sum += Number(match[3]);
  }
  return found ? sum : undefined;
}

/** The counters and gauges the replica specs look at, read in one scrape. */
export interface ReplicaMetrics {
  redisUp: number | undefined;
  scanLeader: number | undefined;
  scans: number;
  claims: number;
  timeoutClaims: number;
  retryClaims: number;
  attention: number | undefined;
}

export async function replicaMetrics(baseUrl: string): Promise<ReplicaMetrics> {
  const text = await scrape(baseUrl);
  return {
    redisUp: sample(text, 'tcc_redis_up'),
    scanLeader: sample(text, 'tcc_scan_leader'),
    scans: sample(text, 'tcc_recovery_scans_total') ?? 0,
    claims: sample(text, 'tcc_recovery_claims_total') ?? 0,
    timeoutClaims: sample(text, 'tcc_recovery_claims_total', { kind: 'timeout' }) ?? 0,
    retryClaims: sample(text, 'tcc_recovery_claims_total', { kind: 'retry' }) ?? 0,
    attention: sample(text, 'tcc_attention_transactions'),
  };
}
