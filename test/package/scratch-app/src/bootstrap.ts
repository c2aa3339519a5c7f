/** Starts the scratch app on a free port of 127.0.0.1 and prints where, for the test to read. */
import 'reflect-metadata';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

export async function bootstrap(adapter?: AbstractHttpAdapter): Promise<void> {
  // No adapter: Nest's default platform, @nestjs/platform-express.
  const app = adapter ? await NestFactory.create(AppModule, adapter) : await NestFactory.create(AppModule);
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  console.log(`scratch app listening on ${await app.getUrl()}`);
}
