/** Name and columns of the barrier table, shared by its migration, its store and its cleanup. */
export const BARRIER_TABLE = 'tcc_barrier';
