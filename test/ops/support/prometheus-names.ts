/**
 * Metric names on both sides of the ops files: the ones a PromQL expression (an alert rule, a
 * Grafana panel) selects, and the ones an app's /metrics text exposes.
 */

/** PromQL words that look like metric names but are operators or modifiers. */
const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'atan2', 'inf', 'nan']);

/**
 * The metric names `expr` selects. Strings, label matchers, ranges, grouping label lists, offsets,
 * numbers and Grafana variables are removed first; what remains that looks like a name and is not
 * called like a function (`rate(`) or a keyword is a metric.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ')
    .replace(/\boffset\s+-?[0-9a-z]+/gi, ' ')
    .replace(/(^|[^A-Za-z0-9_:])[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/g, '$1 ');
  const names = new Set<string>();
  for (const [, name, call] of stripped.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    if (call === undefined && !PROMQL_KEYWORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names];
}

/**
 * Every series name a /metrics text in the Prometheus format can produce: each sample's name, and
 * from the `# TYPE` lines the names of metrics that have no sample yet (a histogram X gives
 * X_bucket, X_sum and X_count; a summary X gives X, X_sum and X_count).
 */
export function exposedMetricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE ([A-Za-z_:][A-Za-z0-9_:]*) (\w+)/.exec(line);
    if (type) {
      const [, name, kind] = type;
      if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
      else if (kind === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(name + suffix);
      else names.add(name);
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line);
    if (sample) names.add(sample[0]);
  }
  return names;
}

/** The values `label` is matched against in `expr` (`job="a"`, `job=~"a|b"`), split on `|`. */
export function labelValuesIn(expr: string, label: string): string[] {
  const values: string[] = [];
  for (const match of expr.matchAll(new RegExp(`\\b${label}\\s*=~?\\s*"([^"]*)"`, 'g'))) values.push(...match[1].split('|'));
  return values;
}
