/**
 * The coordinator for these specs, in this process. @fastify/static (used by the coordinator's
 * OpenAPI page) requires content-disposition 3, which is ESM-only and which Jest's CommonJS runtime
 * cannot load untransformed; the specs never download files, so a CommonJS stand-in serves. Harmless
 * (and removable) once jest.config.js transforms that package.
 */
jest.mock('content-disposition', () => ({
  create: (filename?: string) => (filename ? `attachment; filename="${filename}"` : 'attachment'),
  parse: () => ({ type: 'attachment', parameters: {} }),
}));

export { createCoordinator } from '../../../apps/coordinator/src/bootstrap';
