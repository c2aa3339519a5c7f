/**
 * The admin page's files: its script type-checks against the DOM under the page's own tsconfig
 * (the same check as `npm run lint`), and the files the coordinator serves are found from source
 * and fit the page's content security policy (no inline script or style).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as ts from 'typescript';
import { adminPageDir, loadAdminPageAssets } from '../../apps/coordinator/src/admin/page/admin-page.assets';

const PAGE_DIR = resolve(__dirname, '../../apps/coordinator/src/admin/page');
const TSCONFIG = join(PAGE_DIR, 'tsconfig.json');
const SCRIPT = join(PAGE_DIR, 'admin-page.js');

/** The page's compiler options and files, read as `tsc -p` reads them. */
function pageConfig(): ts.ParsedCommandLine {
  const read = ts.readConfigFile(TSCONFIG, (path) => ts.sys.readFile(path));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  return ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(TSCONFIG), undefined, TSCONFIG);
}

/** The last program: the next one reuses its parsed lib files (lib.dom.d.ts is most of the time). */
let previous: ts.Program | undefined;

/** Type errors of the page's script, the script's text optionally replaced (to prove the check bites). */
function typeErrors(scriptText?: string): string[] {
  const config = pageConfig();
  const host = ts.createCompilerHost(config.options);
  if (scriptText !== undefined) {
    const readFile = host.readFile.bind(host);
    host.readFile = (path) => (resolve(path) === SCRIPT ? scriptText : readFile(path));
  }
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host, oldProgram: previous });
  previous = program;
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    return `${d.file?.fileName ?? ''}${where ? `(${where.line + 1},${where.character + 1})` : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('admin page script', () => {
  it('is checked: the page tsconfig covers admin-page.js with checkJs, strict and the DOM', () => {
    const config = pageConfig();
    expect(config.errors).toEqual([]);
    expect(config.fileNames.map((f) => resolve(f))).toEqual([SCRIPT]);
    expect(config.options).toMatchObject({ allowJs: true, checkJs: true, strict: true, noEmit: true });
    expect(config.options.lib).toEqual(expect.arrayContaining(['lib.dom.d.ts']));
  });

  it('has no type error', () => {
    expect(typeErrors()).toEqual([]);
  });

  it('a type error in it is caught', () => {
    const broken = `${readFileSync(SCRIPT, 'utf8')}\ndocument.getElementById('token').value = 1;\n`;
    const errors = typeErrors(broken);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toMatch(/admin-page\.js/);
  });
});

describe('admin page files', () => {
  it('are found beside their module in the source tree, and in admin/page under a bundle', () => {
    expect(adminPageDir()).toBe(PAGE_DIR);
    expect(() => adminPageDir(join(PAGE_DIR, 'missing'))).toThrow(/admin-page\.html is neither in/);
  });

  it('link the stylesheet and script the controller serves, with nothing inline', () => {
    const { html, css, script } = loadAdminPageAssets();
    expect(html).toContain('<link rel="stylesheet" href="/admin/admin-page.css">');
    expect(html).toContain('<script src="/admin/admin-page.js"></script>');
    // The content security policy allows script and style from 'self' only.
    expect(html).not.toMatch(/<style|<script>|\sstyle=|\son[a-z]+=/i);
    expect(css).toContain('.badge');
    expect(script.startsWith('// @ts-check')).toBe(true);
  });
});
