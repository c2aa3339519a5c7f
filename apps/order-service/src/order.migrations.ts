/** Every migration of the order database, in order: the barrier table, then the orders. */
import { CreateTccBarrier1763900000000 } from '../../../migrations/barrier/1763900000000-create-tcc-barrier';
import { CreateOrders1763900000200 } from '../../../migrations/order/1763900000200-create-orders';

export const ORDER_MIGRATIONS = [CreateTccBarrier1763900000000, CreateOrders1763900000200];
export const ORDER_MIGRATIONS_TABLE = 'order_migrations';
