/**
 * `@tcc/client/sql`: the one SQL dialect of each supported database, for the coordinator's store
 * as for the barrier. Not part of the library's main entry: business code needs only `dialectOf`.
 */
export {
  SQL_DIALECTS,
  SUPPORTED_DATABASE_TYPES,
  UnsupportedDatabaseError,
  dialectOf,
  dialectOfType,
  isTransient,
  placeholders,
  sqlDialectOf,
  sqlDialectOfType,
  type DatabaseDialect,
  type SqlDialect,
} from './sql.dialect';
