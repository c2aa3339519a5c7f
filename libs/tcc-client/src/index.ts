export * from './protocol';
export * from './database/data-source-options';
