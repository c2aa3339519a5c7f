/**
 * The API key every test coordinator is started with (TCC_API_KEYS) and every test client sends,
 * so the suites run with client authentication on; a second client for the ownership tests.
 */
export const TEST_CLIENT = 'tests';
export const TEST_API_KEY = 'tests-api-key-0123456789abcdef';
export const OTHER_CLIENT = 'intruder';
export const OTHER_API_KEY = 'other-api-key-0123456789abcdef';

/** TCC_API_KEYS of a test coordinator: the test client and the second one. */
export const TEST_API_KEYS = `${TEST_CLIENT}=${TEST_API_KEY},${OTHER_CLIENT}=${OTHER_API_KEY}`;

/** The header that authenticates a test client on the v1 API (HTTP header, or gRPC metadata of the same name). */
export const bearer = (key: string = TEST_API_KEY): { authorization: string } => ({ authorization: `Bearer ${key}` });
