'use strict';
/**
 * The machine's raw durable-commit rate, measured before either flow: single-row autocommit
 * inserts over RAW_CONNECTIONS connections for a short while (bench/databases.js, per server), so
 * figures from different machines (and servers) compare as ratios.
 */
const { RAW_CONNECTIONS } = require('./databases');
const { log, round } = require('./harness');

/** Measures the rate in `database` and says so on stderr. */
async function measureRawCommits(db, database, version) {
  const rawCommitsPerSecond = await db.rawCommitRate(database);
  log(`raw durable-commit rate: ${rawCommitsPerSecond} single-row commits/s over ${RAW_CONNECTIONS} connections (${db.label} ${version})`);
  return rawCommitsPerSecond;
}

/** The report's line: the rate, and the flow's throughput as a ratio of it. */
function rawCommitsLine(pad, rawCommitsPerSecond, throughput) {
  return `  ${pad('raw durable commits (machine)')}${rawCommitsPerSecond}/s single-row inserts over ${RAW_CONNECTIONS} connections (throughput / raw: ${round(throughput / rawCommitsPerSecond, 3)})`;
}

module.exports = { measureRawCommits, rawCommitsLine };
