'use strict';
/**
 * Printing a flow's figures: the human lines on stdout, then the same figures as one JSON line
 * (also written to --json-out), in one format for both flows.
 */
const fs = require('node:fs');

/** A label column of the report. */
const pad = (s, n = 34) => String(s).padEnd(n);

/** `statements 12.1, commits 7, durable flushes 3.2, rows written 8` (n/a for what is not counted). */
function formatSummary(summary) {
  const names = { statements: 'statements', commits: 'commits', durableFlushes: 'durable flushes', rowsWritten: 'rows written' };
  return Object.entries(names)
    .map(([k, label]) => `${label} ${summary[k] ?? 'n/a'}`)
    .join(', ');
}

/** The report's lines, a blank line, the JSON line; the JSON also to `jsonOut` when given. */
function printReport(lines, result, jsonOut) {
  const json = JSON.stringify(result);
  process.stdout.write(lines.join('\n') + '\n\n' + json + '\n');
  if (jsonOut) fs.writeFileSync(jsonOut, json + '\n');
}

module.exports = { pad, formatSummary, printReport };
