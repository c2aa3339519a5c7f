/**
 * OpenAPI (README "Operating it", beside docs/contract.md §7; issue 6): /docs-json is an OpenAPI 3 document describing the public API
 * v1 and the admin API (bearer auth), and /docs serves the Swagger UI page.
 */
import { createTestDatabase, type TestDatabase } from '../support/test.database';
import { newAdminToken, startOperateCoordinator, type OperateCoordinator } from './support/operate.coordinator';

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, { tags?: string[]; security?: Record<string, string[]>[]; responses?: Record<string, unknown> }>>;
  components?: { securitySchemes?: Record<string, { type: string; scheme?: string }> };
}

describe('OpenAPI document and UI', () => {
  let database: TestDatabase | undefined;
  let coordinator: OperateCoordinator | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    coordinator = await startOperateCoordinator({ TCC_DB_URL: database.url, TCC_ADMIN_TOKEN: newAdminToken(), TCC_SCAN_INTERVAL_MS: '60000' });
  });

  afterAll(async () => {
    try {
      await coordinator?.close();
    } finally {
      await database?.drop();
    }
  });

  it('/docs-json is OpenAPI 3 listing the public and the admin transaction paths, the admin ones behind bearer auth', async () => {
    const res = await coordinator!.admin.as(undefined).send<OpenApiDocument>('GET', '/docs-json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    const doc = res.body;
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toBe('TCC coordinator');
    const paths = Object.keys(doc.paths);
    // Path parameters are written {gid} in OpenAPI.
    expect(paths).toEqual(
      expect.arrayContaining([
        '/v1/transactions',
        '/v1/transactions/{gid}',
        '/v1/transactions/{gid}/branches',
        '/v1/transactions/{gid}/commit',
        '/v1/transactions/{gid}/rollback',
        '/v1/sagas',
        '/v1/messages',
        '/v1/messages/{gid}/submit',
        '/v1/messages/{gid}/abort',
        '/admin/v1/transactions',
        '/admin/v1/transactions/{gid}',
        '/admin/v1/transactions/{gid}/retry',
        '/admin/v1/transactions/{gid}/force-rollback',
        '/admin/v1/transactions/{gid}/branches/{branchId}/resolve',
      ]),
    );
    expect(Object.keys(doc.paths['/v1/transactions'])).toContain('post');
    for (const path of ['/v1/sagas', '/v1/messages', '/v1/messages/{gid}/submit', '/v1/messages/{gid}/abort']) expect(Object.keys(doc.paths[path])).toContain('post');
    expect(Object.keys(doc.paths['/admin/v1/transactions'])).toContain('get');
    expect(Object.keys(doc.paths['/admin/v1/transactions/{gid}/retry'])).toContain('post');
    expect(Object.values(doc.components?.securitySchemes ?? {})).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'http', scheme: 'bearer' })]));
    for (const path of paths.filter((p) => p.startsWith('/admin/v1/'))) {
      for (const op of Object.values(doc.paths[path])) expect({ path, security: op.security }).toEqual({ path, security: expect.arrayContaining([expect.objectContaining({ bearer: [] })]) });
    }
    // The admin page itself is not an API.
    expect(paths).not.toContain('/admin');
  });

  it('/docs answers 200 with the Swagger UI page', async () => {
    const res = await coordinator!.admin.as(undefined).send('GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toMatch(/swagger-ui/i);
    expect(res.text).toMatch(/<html/i);
    // The UI's scripts and stylesheet are served too (relative to /docs), or the page stays blank.
    const assets = [...res.text.matchAll(/(?:src|href)="\.\/(docs\/[^"]+\.(?:js|css))"/g)].map((m) => `/${m[1]}`);
    expect(assets).toEqual(expect.arrayContaining(['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/docs/swagger-ui-init.js']));
    for (const asset of assets) {
      const got = await coordinator!.admin.as(undefined).send('GET', asset);
      expect({ asset, status: got.status, size: got.text.length > 100 }).toEqual({ asset, status: 200, size: true });
    }
  });
});
