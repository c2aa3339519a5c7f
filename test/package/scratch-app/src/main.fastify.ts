/** Entry of the Fastify variant (copied as main.ts). */
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { bootstrap } from './bootstrap';

bootstrap(new FastifyAdapter()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
