#!/usr/bin/env node
/**
 * Renders a trace captured as OTLP/HTTP JSON (what the apps' exporters send; the tracing specs
 * save it with TCC_TRACE_CAPTURE=<folder>) as a waterfall: one row per span in parent order, a bar
 * per span on the trace's time axis, coloured by service, errors in red, the barrier outcome beside
 * participant spans. Traces whose spans link into it (a recovery re-drive) follow, each on its own
 * axis. Writes an HTML page with the SVG, and a PNG through headless Chromium when --png is given.
 *
 *   node scripts/render-trace.js <capture.json> [--trace <traceId>] [--html out.html] [--png out.png]
 *
 * The input: an OTLP ExportTraceServiceRequest, an array of them, or `{ traceId?, requests: [...] }`.
 * Without --trace, the trace holding a `tcc.transaction` span (else the one with most spans).
 */
'use strict';
const { execFileSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const SERVICE_COLOURS = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#9d755d', '#e45756'];
const KIND = { 1: 'internal', 2: 'server', 3: 'client', 4: 'producer', 5: 'consumer' };
const ROW = 22;
const LABEL_WIDTH = 430;
const BAR_WIDTH = 560;
const WIDTH = LABEL_WIDTH + BAR_WIDTH + 250;

function parseArgs(argv) {
  const args = { input: undefined, trace: undefined, html: undefined, png: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--trace') args.trace = argv[++i];
    else if (a === '--html') args.html = argv[++i];
    else if (a === '--png') args.png = argv[++i];
    else if (!args.input) args.input = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  if (!args.input) throw new Error('usage: render-trace.js <capture.json> [--trace <traceId>] [--html out.html] [--png out.png]');
  return args;
}

function valueOf(v) {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v.boolValue;
}

function attributes(list) {
  return Object.fromEntries((list || []).map((a) => [a.key, valueOf(a.value)]));
}

/** Every span of the capture, flattened, with its service. */
function readSpans(input) {
  const data = JSON.parse(readFileSync(input, 'utf8'));
  const requests = Array.isArray(data) ? data : data.requests || [data];
  const spans = [];
  for (const request of requests) {
    for (const rs of request.resourceSpans || []) {
      const service = String(attributes(rs.resource && rs.resource.attributes)['service.name'] || '?');
      for (const ss of rs.scopeSpans || []) {
        for (const s of ss.spans || []) {
          spans.push({
            service,
            name: s.name,
            kind: KIND[s.kind] || 'unspecified',
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId || '',
            start: BigInt(s.startTimeUnixNano),
            end: BigInt(s.endTimeUnixNano),
            error: (s.status && s.status.code) === 2,
            attributes: attributes(s.attributes),
            links: (s.links || []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
          });
        }
      }
    }
  }
  return { spans, traceId: Array.isArray(data) ? undefined : data.traceId };
}

/** The spans of one trace in waterfall order: depth-first from the roots, children by start time. */
function ordered(spans) {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map();
  for (const s of spans) {
    const parent = ids.has(s.parentSpanId) ? s.parentSpanId : '';
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(s);
  }
  for (const list of children.values()) list.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out = [];
  const walk = (parent, depth) => {
    for (const s of children.get(parent) || []) {
      out.push({ span: s, depth });
      walk(s.spanId, depth + 1);
    }
  };
  walk('', 0);
  return out;
}

function escape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function ms(ns) {
  const value = Number(ns) / 1e6;
  return value >= 100 ? `${value.toFixed(0)} ms` : value >= 10 ? `${value.toFixed(1)} ms` : `${value.toFixed(2)} ms`;
}

/** One trace's section of the SVG, from `top`; answers its markup and height. */
function section(title, rows, top, colourOf) {
  const t0 = rows.reduce((m, r) => (r.span.start < m ? r.span.start : m), rows[0].span.start);
  const t1 = rows.reduce((m, r) => (r.span.end > m ? r.span.end : m), rows[0].span.end);
  const total = t1 - t0 || 1n;
  const x = (t) => LABEL_WIDTH + (Number(t - t0) / Number(total)) * BAR_WIDTH;
  const parts = [];
  parts.push(`<text x="10" y="${top + 16}" class="title">${escape(title)}</text>`);
  const axisY = top + 28;
  for (let i = 0; i <= 4; i++) {
    const tx = LABEL_WIDTH + (BAR_WIDTH * i) / 4;
    parts.push(`<line x1="${tx}" y1="${axisY}" x2="${tx}" y2="${axisY + 8 + rows.length * ROW}" class="grid"/>`);
    parts.push(`<text x="${tx}" y="${axisY}" class="axis" text-anchor="middle">${escape(ms((total * BigInt(i)) / 4n))}</text>`);
  }
  rows.forEach(({ span, depth }, i) => {
    const y = axisY + 8 + i * ROW;
    if (i % 2 === 0) parts.push(`<rect x="0" y="${y}" width="${WIDTH}" height="${ROW}" class="stripe"/>`);
    const colour = colourOf(span.service);
    parts.push(`<circle cx="${14 + depth * 14}" cy="${y + ROW / 2}" r="4" fill="${colour}"/>`);
    parts.push(`<text x="${22 + depth * 14}" y="${y + 15}" class="name">${escape(span.name)} <tspan class="kind">${escape(span.kind)}</tspan></text>`);
    const left = x(span.start);
    const width = Math.max(2, x(span.end) - left);
    parts.push(`<rect x="${left}" y="${y + 4}" width="${width}" height="${ROW - 8}" rx="2" fill="${colour}" ${span.error ? 'stroke="#d62728" stroke-width="2"' : ''}/>`);
    const notes = [ms(span.end - span.start)];
    if (span.attributes['tcc.branch_id']) notes.push(String(span.attributes['tcc.branch_id']));
    if (span.attributes['tcc.barrier.outcome']) notes.push(String(span.attributes['tcc.barrier.outcome']));
    const status = span.attributes['http.response.status_code'];
    if (span.error) notes.push(`ERROR${status ? ` ${status}` : ''}`);
    if (span.links.length > 0) notes.push(`link → ${span.links.map((l) => `${l.traceId.slice(0, 8)}…`).join(', ')}`);
    const textX = Math.min(left + width + 6, LABEL_WIDTH + BAR_WIDTH + 4);
    parts.push(`<text x="${textX}" y="${y + 15}" class="${span.error ? 'note error' : 'note'}">${escape(notes.join(' · '))}</text>`);
  });
  return { markup: parts.join('\n'), height: 28 + 8 + rows.length * ROW + 18 };
}

function render(spans, traceId) {
  const traces = new Map();
  for (const s of spans) {
    if (!traces.has(s.traceId)) traces.set(s.traceId, []);
    traces.get(s.traceId).push(s);
  }
  if (!traceId) {
    const withTransaction = spans.find((s) => s.name === 'tcc.transaction');
    traceId = withTransaction ? withTransaction.traceId : [...traces.entries()].sort((a, b) => b[1].length - a[1].length)[0][0];
  }
  const main = traces.get(traceId);
  if (!main) throw new Error(`no span of trace ${traceId} in the capture`);
  // Traces with a span linking into this one: re-drives after a crash.
  const linked = [...traces.entries()].filter(([id, list]) => id !== traceId && list.some((s) => s.links.some((l) => l.traceId === traceId)));
  const services = [...new Set(spans.filter((s) => s.traceId === traceId || linked.some(([id]) => id === s.traceId)).map((s) => s.service))].sort();
  const colourOf = (service) => SERVICE_COLOURS[services.indexOf(service) % SERVICE_COLOURS.length];
  const gid = (main.find((s) => s.attributes['tcc.gid']) || { attributes: {} }).attributes['tcc.gid'];
  let top = 36;
  const sections = [];
  const first = section(`trace ${traceId}${gid ? ` · gid ${gid}` : ''} · ${main.length} spans`, ordered(main), top, colourOf);
  sections.push(first.markup);
  top += first.height;
  for (const [id, list] of linked) {
    const after = list.reduce((m, s) => (s.start < m ? s.start : m), list[0].start) - main.reduce((m, s) => (s.start < m ? s.start : m), main[0].start);
    const part = section(`linked trace ${id} · ${list.length} spans · starts ${ms(after)} after the first`, ordered(list), top, colourOf);
    sections.push(part.markup);
    top += part.height;
  }
  const legend = services
    .map((service, i) => `<circle cx="${16 + i * 170}" cy="18" r="6" fill="${colourOf(service)}"/><text x="${28 + i * 170}" y="23" class="legend">${escape(service)}</text>`)
    .join('\n');
  const height = top + 10;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">
<style>
  text { font-family: 'DejaVu Sans', Arial, sans-serif; }
  .title { font-size: 13px; font-weight: bold; fill: #222; }
  .axis { font-size: 10px; fill: #777; }
  .grid { stroke: #ddd; stroke-width: 1; }
  .stripe { fill: #f6f7f9; }
  .name { font-size: 12px; fill: #222; }
  .kind { font-size: 10px; fill: #888; }
  .note { font-size: 10.5px; fill: #444; }
  .error { fill: #d62728; font-weight: bold; }
  .legend { font-size: 12px; fill: #222; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
${legend}
${sections.join('\n')}
</svg>`;
  return { svg, width: WIDTH, height };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const { spans, traceId } = readSpans(args.input);
  if (spans.length === 0) throw new Error(`${args.input} holds no span`);
  const { svg, width, height } = render(spans, args.trace || traceId);
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>trace</title><style>body{margin:0}</style></head><body>${svg}</body></html>`;
  if (args.html) writeFileSync(resolve(args.html), html);
  if (args.png) {
    const folder = mkdtempSync(join(tmpdir(), 'render-trace-'));
    try {
      const page = join(folder, 'trace.html');
      writeFileSync(page, html);
      const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
      execFileSync(
        chromium,
        ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--window-size=${width},${height}`, `--screenshot=${resolve(args.png)}`, `file://${page}`],
        { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 },
      );
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }
  if (!args.html && !args.png) process.stdout.write(svg);
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
