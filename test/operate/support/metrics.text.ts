/** Reads Prometheus text exposition into samples, so specs compare values by name and labels. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

export class Scrape {
  readonly samples: Sample[];

  constructor(readonly text: string) {
    this.samples = parseMetrics(text);
  }

  /** The value of the one sample named `name` whose labels include `labels`; undefined if none. */
  find(name: string, labels: Record<string, string> = {}): number | undefined {
    const found = this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    if (found.length > 1) throw new Error(`${name}${JSON.stringify(labels)} matches ${found.length} samples`);
    return found[0]?.value;
  }

  /** Like find, but a missing sample counts as 0 (a labelled counter not incremented yet). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.find(name, labels) ?? 0;
  }

  /** Whether a `# TYPE name kind` line declares the metric. */
  type(name: string): string | undefined {
    return new RegExp(`^# TYPE ${name} (\\S+)$`, 'm').exec(this.text)?.[1];
  }
}
