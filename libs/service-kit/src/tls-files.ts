/**
 * TLS settings of the example services as paths of PEM files in the environment: read at start,
 * checked (unreadable file, a key that does not match its certificate, a CA that is not one), and
 * every problem named by its variable.
 */
import { readFileSync } from 'node:fs';
import { checkCa, checkCertificateAndKey } from '@tcc/client/caller';

export interface TlsFileVariables {
  ca?: string;
  cert?: string;
  key?: string;
}

export interface TlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Reads the files the variables name; pushes a message per problem onto `problems`. Undefined when none is set. */
export function readTlsFiles(env: Record<string, string | undefined>, variables: TlsFileVariables, problems: string[]): TlsFiles | undefined {
  const read = (name: string | undefined): Buffer | undefined => {
    const path = name ? env[name]?.trim() : undefined;
    if (!name || !path) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      problems.push(`${name}: cannot read ${path}: ${(error as Error).message}`);
      return undefined;
    }
  };
  const files: TlsFiles = { ca: read(variables.ca), cert: read(variables.cert), key: read(variables.key) };
  if (!files.ca && !files.cert && !files.key) return undefined;
  for (const check of [
    () => checkCa(variables.ca ?? 'ca', files.ca),
    () => checkCertificateAndKey(`${variables.cert} / ${variables.key}`, files.cert, files.key),
  ]) {
    try {
      check();
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return files;
}
