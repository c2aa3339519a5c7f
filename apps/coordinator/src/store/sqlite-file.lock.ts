/**
 * The embedded SQLite file belongs to one coordinator process at a time: a lock file beside it
 * (`<file>.lock`, holding the pid) for the life of the process, so a second coordinator started on
 * the same file refuses to start instead of sharing it silently.
 *
 * The lock is put in place whole with link(2), which fails when the name exists (like O_EXCL), so
 * nobody ever reads a half-written one. A lock whose pid is gone is stale (the holder was
 * SIGKILLed): the next start moves it aside (rename(2), atomic) and takes its place. A lock naming
 * this very pid that this process did not take is stale too: in a container the coordinator is pid
 * 1 after every restart. Limits: the pid is only meaningful on one host (and pid namespace); a lock
 * naming a pid that an unrelated process has since reused is reported, and the message says how to
 * remove it by hand.
 */
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A second coordinator on a file another one holds: main.ts prints this message alone and exits 1. */
export class SqliteFileInUse extends Error {
  override readonly name = 'SqliteFileInUse';
}

/** Lock files this process holds, released on close and, failing that, when the process exits. */
const held = new Set<string>();
let exitHookInstalled = false;

function holderOf(lockPath: string): number | undefined {
  try {
    const pid = Number(readFileSync(lockPath, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !zombie(pid);
}

/** A killed process its parent has not reaped yet still answers kill(pid, 0); on Linux, /proc tells. */
function zombie(pid: number): boolean {
  try {
    // The state is the field after the parenthesised command name (which may itself hold a ')').
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 1).trim().startsWith('Z');
  } catch {
    return false;
  }
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

function inUse(file: string, lockPath: string, pid: number): SqliteFileInUse {
  const who = pid === process.pid ? `this process (pid ${pid}) already runs a coordinator on it` : `held by pid ${pid}`;
  return new SqliteFileInUse(
    `the embedded database file ${file} is in use: ${who} (lock ${lockPath}). ` +
      'Two coordinators must not share one SQLite file: stop the other one, or give this one its own file with TCC_SQLITE_PATH ' +
      '(several coordinators on one database: TCC_DB_URL with MySQL or PostgreSQL). ' +
      `If no coordinator runs as pid ${pid}, remove ${lockPath}.`,
  );
}

function releaseAll(): void {
  for (const lockPath of held) {
    if (holderOf(lockPath) === process.pid) {
      try {
        unlinkSync(lockPath);
      } catch {
        // already gone
      }
    }
  }
  held.clear();
}

export class SqliteFileLock {
  private constructor(
    readonly file: string,
    readonly lockPath: string,
  ) {}

  /** Whether `sqlitePath` is a file worth locking (not an in-memory database). */
  static applies(sqlitePath: string): boolean {
    return sqlitePath !== '' && sqlitePath !== ':memory:' && !sqlitePath.startsWith('file::memory:');
  }

  /** Takes the lock of `sqlitePath` (its directory must exist) or throws SqliteFileInUse naming the holder. */
  static acquire(sqlitePath: string): SqliteFileLock {
    const file = resolve(sqlitePath);
    const lockPath = `${file}.lock`;
    if (held.has(lockPath)) throw inUse(file, lockPath, process.pid);
    const draft = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(draft, `${process.pid}\n`);
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          linkSync(draft, lockPath);
          held.add(lockPath);
          if (!exitHookInstalled) {
            exitHookInstalled = true;
            process.once('exit', releaseAll);
          }
          return new SqliteFileLock(file, lockPath);
        } catch (error) {
          if (code(error) !== 'EEXIST') throw error;
        }
        const holder = holderOf(lockPath);
        if (holder !== undefined && holder !== process.pid && alive(holder)) throw inUse(file, lockPath, holder);
        SqliteFileLock.removeStale(lockPath, holder);
      }
      throw new SqliteFileInUse(`could not take the lock ${lockPath} of ${file}: other processes keep taking it; set TCC_SQLITE_PATH to a file of this coordinator's own`);
    } finally {
      unlinkSync(draft);
    }
  }

  /**
   * Moves a stale lock aside and deletes it, unless what was moved is not the stale lock after all
   * (another starter replaced it in between): that one is put back.
   */
  private static removeStale(lockPath: string, stalePid: number | undefined): void {
    const aside = `${lockPath}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      renameSync(lockPath, aside);
    } catch (error) {
      if (code(error) === 'ENOENT') return;
      throw error;
    }
    const moved = holderOf(aside);
    if (moved !== stalePid && moved !== undefined && alive(moved)) {
      try {
        linkSync(aside, lockPath);
      } catch {
        // someone else holds the name now: theirs stands
      }
    }
    unlinkSync(aside);
  }

  /** Gives the file up (the lock file is removed when it is still ours). */
  release(): void {
    if (!held.delete(this.lockPath)) return;
    if (holderOf(this.lockPath) === process.pid) {
      try {
        unlinkSync(this.lockPath);
      } catch {
        // already gone
      }
    }
  }
}
