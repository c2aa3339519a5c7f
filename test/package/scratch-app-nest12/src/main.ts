import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

async function bootstrap() {
  const app = await NestFactory.create(AppModule);
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  // The test reads the address from this line.
  console.log(`scratch app listening on ${await app.getUrl()}`);
}
await bootstrap();
