/**
 * The start-up lines of the three apps: one line per setting that matters for reaching the app
 * and what it reaches (ports, database, coordinator, self URL), each naming where its value came
 * from: the environment variable that set it, or `default` and the variable that would change it.
 * A password in a URL is never printed, nor any key.
 */
import { Logger } from '@nestjs/common';
import { resolve } from 'node:path';

export interface StartupSetting {
  /** What it is, as a person reads it: `HTTP port`, `database`. */
  what: string;
  /** The value in force (for a port of 0, the port actually bound); URLs are printed without their password. */
  value: string | number;
  /** The environment variable that sets it. */
  variable: string;
}

const MASK = '***';
const SECRET_PARAM = /pass|secret|token|key/i;

/** `url` with its password (and any password-like query parameter) replaced by `***`. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    let changed = false;
    if (parsed.password) {
      parsed.password = MASK;
      changed = true;
    }
    for (const name of [...parsed.searchParams.keys()]) {
      if (SECRET_PARAM.test(name)) {
        parsed.searchParams.set(name, MASK);
        changed = true;
      }
    }
    return changed ? parsed.toString() : url;
  } catch {
    // Not a URL the parser takes: mask anything between `user:` and `@` all the same.
    return url.replace(/\/\/([^:/@]*):[^@]*@/, `//$1:${MASK}@`);
  }
}

/** The database line's value: the server URL (password masked), or the embedded file's absolute path. */
export function databaseValue(url: string | undefined, sqlitePath: string): string {
  if (url) return withoutPassword(url);
  return `SQLite file ${sqlitePath === ':memory:' ? sqlitePath : resolve(sqlitePath)}`;
}

/** How many signing keys are set (never a key): the coordinator and every service must share one. */
export function signingKeysValue(keys: readonly string[]): string {
  return keys.length === 0 ? 'none (calls unsigned)' : `${keys.length} key${keys.length === 1 ? '' : 's'}`;
}

function setIn(env: Record<string, string | undefined>, variable: string): string | undefined {
  const raw = env[variable]?.trim();
  return raw ? raw : undefined;
}

/**
 * One line: `HTTP port: 7080 (default; set ACCOUNT_HTTP_PORT to change)`, `HTTP port: 43117 (from
 * ACCOUNT_HTTP_PORT=0)` (a number shows what was set when it differs from what is in force).
 */
export function settingLine(setting: StartupSetting, env: Record<string, string | undefined>): string {
  const raw = setIn(env, setting.variable);
  const value = typeof setting.value === 'string' ? withoutPassword(setting.value) : String(setting.value);
  const source =
    raw === undefined
      ? `default; set ${setting.variable} to change`
      : typeof setting.value === 'number' && raw !== value
        ? `from ${setting.variable}=${raw}`
        : `from ${setting.variable}`;
  return `${setting.what}: ${value} (${source})`;
}

/** Logs one line per setting, under the `Settings` context. */
export function logStartupSettings(settings: StartupSetting[], env: Record<string, string | undefined>): void {
  const logger = new Logger('Settings');
  for (const setting of settings) {
    const source = setIn(env, setting.variable) === undefined ? 'default' : 'env';
    logger.log({ setting: setting.variable, source, msg: settingLine(setting, env) });
  }
}
