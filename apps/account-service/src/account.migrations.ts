/** Every migration of the account database, in order: the barrier table, then the accounts. */
import { TCC_BARRIER_MIGRATIONS } from '@tcc/client';
import { CreateAccounts1763900000100 } from '../../../migrations/account/1763900000100-create-accounts';
import { CreditsAndPoints1763900000300 } from '../../../migrations/account/1763900000300-credits-and-points';

export const ACCOUNT_MIGRATIONS = [...TCC_BARRIER_MIGRATIONS, CreateAccounts1763900000100, CreditsAndPoints1763900000300];
export const ACCOUNT_MIGRATIONS_TABLE = 'account_migrations';
