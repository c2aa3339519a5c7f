/** The app's own table, as Drizzle sees it: one row per article, `available` to sell and `reserved` by open tries. */
import { integer, pgTable, varchar } from 'drizzle-orm/pg-core';

export const stock = pgTable('stock', {
  sku: varchar('sku', { length: 64 }).primaryKey(),
  available: integer('available').notNull(),
  reserved: integer('reserved').notNull(),
});
