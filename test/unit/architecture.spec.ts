/**
 * The coordinator's structure, read from its source: a status changes in SQL only in the one
 * transition builder (store/transition.sql.ts); domain/ is the ground floor and imports nothing of
 * the app; and the folders' imports run one way (no folder imports one that imports it back).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(__dirname, '../../apps/coordinator/src');
const TRANSITIONS_FILE = 'store/transition.sql.ts';

function sources(dir = SRC): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of a file, resolved to paths under SRC. */
function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/from '(\.[^']+)'/g)].map((m) => resolve(dirname(file), m[1]));
}

/** The folder a source path belongs to (its first segment under SRC), or the file itself at the top. */
const folderOf = (path: string): string => relative(SRC, path).split('/')[0];

describe('the coordinator structure', () => {
  const files = sources();

  it('reads the source', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(files.map((f) => relative(SRC, f))).toContain(TRANSITIONS_FILE);
  });

  it(`sets a transaction's or a branch's status in SQL only in ${TRANSITIONS_FILE}`, () => {
    const offenders: string[] = [];
    for (const file of files) {
      const name = relative(SRC, file);
      if (name === TRANSITIONS_FILE) continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/UPDATE\s+(tcc_transactions|tcc_branches)\s+SET\s+([\s\S]*?)\bWHERE\b/gi)) {
        if (/\bstatus\s*=/i.test(m[2])) offenders.push(`${name}: UPDATE ${m[1]} SET ${m[2].trim().slice(0, 60)}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('finds a status write when there is one (the check above can fail)', () => {
    const sample = 'await ex.execute(`UPDATE tcc_transactions SET owner = NULL, status = ? WHERE gid = ?`)';
    const m = /UPDATE\s+(tcc_transactions|tcc_branches)\s+SET\s+([\s\S]*?)\bWHERE\b/i.exec(sample);
    expect(m && /\bstatus\s*=/i.test(m[2])).toBe(true);
  });

  it('domain/ imports nothing of the app: only packages and its own files', () => {
    const outside = files
      .filter((f) => folderOf(f) === 'domain')
      .flatMap((f) => localImports(f).filter((target) => folderOf(target) !== 'domain').map((target) => `${relative(SRC, f)} -> ${relative(SRC, target)}`));
    expect(outside).toEqual([]);
  });

  it('no folder imports a folder that imports it back (the imports run one way)', () => {
    const edges = new Map<string, Set<string>>();
    for (const file of files) {
      const from = folderOf(file);
      for (const target of localImports(file)) {
        const to = folderOf(target);
        if (to !== from) edges.set(from, (edges.get(from) ?? new Set()).add(to));
      }
    }
    // Depth-first search for a cycle in the folder graph.
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (node: string, path: string[]): void => {
      state.set(node, 'open');
      for (const next of edges.get(node) ?? []) {
        if (state.get(next) === 'open') cycles.push([...path, node, next].slice([...path, node].indexOf(next)).join(' -> '));
        else if (!state.has(next)) visit(next, [...path, node]);
      }
      state.set(node, 'done');
    };
    for (const node of edges.keys()) if (!state.has(node)) visit(node, []);
    expect(cycles).toEqual([]);
    // The ground floor is imported by the floors above it.
    expect([...edges.entries()].filter(([, to]) => to.has('domain')).length).toBeGreaterThan(3);
  });
});
