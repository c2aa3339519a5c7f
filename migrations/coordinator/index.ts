/** Coordinator schema migrations, in order. Listed explicitly: the app is bundled, globs do not survive. */
import { CreateTransactions1732300000000 } from './1732300000000-create-transactions';

export const coordinatorMigrations = [CreateTransactions1732300000000];
