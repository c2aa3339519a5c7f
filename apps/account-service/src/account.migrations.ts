/** Every migration of the account database, in order: the barrier table, then the accounts. */
import { CreateTccBarrier1763900000000 } from '../../../migrations/barrier/1763900000000-create-tcc-barrier';
import { CreateAccounts1763900000100 } from '../../../migrations/account/1763900000100-create-accounts';

export const ACCOUNT_MIGRATIONS = [CreateTccBarrier1763900000000, CreateAccounts1763900000100];
export const ACCOUNT_MIGRATIONS_TABLE = 'account_migrations';
