/** Injection token of the validated OrderConfig. */
export const ORDER_CONFIG = Symbol('ORDER_CONFIG');
