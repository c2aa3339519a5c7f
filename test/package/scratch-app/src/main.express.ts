/** Entry of the Express variant (copied as main.ts): Nest's default adapter is @nestjs/platform-express. */
import { bootstrap } from './bootstrap';

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
