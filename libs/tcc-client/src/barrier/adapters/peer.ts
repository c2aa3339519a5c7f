/**
 * Loads an optional peer of @tcc/client (an ORM or a driver) when its adapter is first used, with
 * an error naming what to install when it is missing. Nothing else loads them. `load` is the
 * caller's `() => require('<name>')` with the name written out: a bundler (the Nest CLI's webpack)
 * keeps a literal require as an external of the app, where a require of a variable would be
 * bundled as a module it cannot find.
 */
export function requirePeer<T>(name: string, adapter: string, load: () => unknown, install = name): T {
  try {
    return load() as T;
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${name}'`);
    if (!missing) throw error;
    throw new Error(`tcc barrier: the ${adapter} adapter needs ${install} (npm install ${install})`);
  }
}

/** The token or instance an adapter was given, as one instance (looked up in Nest when a token). */
export function instanceOf<I>(given: { inject?: unknown } & Record<string, unknown>, key: string, lookup: (token: unknown) => unknown, adapter: string): I {
  if (given[key] !== undefined) return given[key] as I;
  try {
    const found = lookup(given.inject);
    if (found === undefined || found === null) throw new Error('not found');
    return found as I;
  } catch {
    const token = typeof given.inject === 'function' ? given.inject.name : String(given.inject as string);
    throw new Error(`tcc barrier: the ${adapter} adapter found no provider for its token ${token}: provide it in the application (or pass { ${key} })`);
  }
}

/** One database object per ORM instance: the runner's SQLite queue is keyed by it. */
const databases = new WeakMap<object, unknown>();
export function onePer<D>(instance: object, create: () => D): D {
  let database = databases.get(instance) as D | undefined;
  if (!database) databases.set(instance, (database = create()));
  return database;
}
