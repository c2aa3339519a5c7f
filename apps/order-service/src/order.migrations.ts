/** Every migration of the order database, in order: the barrier table, then the orders. */
import { TCC_BARRIER_MIGRATIONS } from '@tcc/client';
import { CreateOrders1763900000200 } from '../../../migrations/order/1763900000200-create-orders';

export const ORDER_MIGRATIONS = [...TCC_BARRIER_MIGRATIONS, CreateOrders1763900000200];
export const ORDER_MIGRATIONS_TABLE = 'order_migrations';
