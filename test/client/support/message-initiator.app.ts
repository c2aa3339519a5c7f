/**
 * A reliable-message initiator as a process of its own, for test/client/message-initiator-kill.spec.ts:
 * a Nest app (Fastify) with TccModule and its own participant database (MariaDB or PostgreSQL, the
 * barrier migrations run at start), run from source by `node -r test/support/swc-register.js`.
 *
 * `POST /send` `{ gid, targets: [url, ...], timeoutMs?, killAt? }` calls TccMessages.send with one
 * http step per target (branchIds `step1`, `step2`, ...) and, as its work, inserts the business
 * row `(gid)` into `kill_business`. `killAt` makes the process SIGKILL itself:
 * - `before-commit`: inside the work, after the business row and the prepared row were written,
 *   before the local transaction commits;
 * - `after-commit`: when send calls the coordinator client's submitMessage for that gid, which it
 *   does only once runLocalTransaction has returned, i.e. after the local commit; the submit
 *   request is never made. The library offers no hook there, so the app wraps submitMessage on the
 *   CoordinatorClient instance (the public DI token TccMessages is given): TccMessages.send itself
 *   runs unchanged.
 * Just before it dies it prints `{"event":"dying","at":...,"gid":...}` (written synchronously).
 * Every event line carries the printing process's `pid`.
 *
 * Every call of the library's queryPrepared endpoint (`POST /tcc/query-prepared`) is printed as
 * `{"event":"query-prepared","gid","arrivedAt","answeredAt","statusCode","answer"}`, and the app
 * prints `{"event":"ready","port"}` once it listens. Settings come from the environment:
 * INITIATOR_PORT, INITIATOR_DB_TYPE (`mariadb` | `postgres`), INITIATOR_DB_URL,
 * INITIATOR_COORDINATOR_URL, INITIATOR_API_KEY.
 */
import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { writeSync } from 'node:fs';
import { DataSource, type EntityManager } from 'typeorm';
import { CoordinatorClient, TCC_BARRIER_MIGRATIONS, TccMessages, TccModule, execute } from '@tcc/client';

type KillAt = 'before-commit' | 'after-commit';

interface SendBody {
  gid: string;
  targets: string[];
  timeoutMs?: number;
  killAt?: KillAt;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`message-initiator: ${name} is required`);
  return value;
}

/** One JSON line on stdout (with this process's pid), written synchronously so it is out before a SIGKILL that follows. */
function print(event: Record<string, unknown>): void {
  writeSync(1, `${JSON.stringify({ ...event, pid: process.pid })}\n`);
}

function die(at: KillAt, gid: string): never {
  print({ event: 'dying', at, gid, time: Date.now() });
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL is not delivered synchronously on every platform: never run another line.
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000);
}

/** gids whose submit is the moment to die (`killAt: 'after-commit'`). */
const killBeforeSubmit = new Set<string>();

@Controller()
class SendController {
  constructor(private readonly messages: TccMessages) {}

  @Post('send')
  @HttpCode(200)
  async send(@Body() body: SendBody): Promise<{ gid: string; submitted: boolean; status?: string }> {
    if (body.killAt === 'after-commit') killBeforeSubmit.add(body.gid);
    const sent = await this.messages.send(
      {
        gid: body.gid,
        steps: body.targets.map((target, index) => ({ branchId: `step${index + 1}`, target })),
        timeoutMs: body.timeoutMs ?? 1_000,
      },
      async (tx: EntityManager) => {
        await execute(tx, 'INSERT INTO kill_business (gid) VALUES (?)', [body.gid]);
        if (body.killAt === 'before-commit') die('before-commit', body.gid);
        return body.gid;
      },
    );
    return { gid: sent.gid, submitted: sent.submitted, status: sent.status };
  }
}

async function main(): Promise<void> {
  const port = Number(required('INITIATOR_PORT'));
  const engine = required('INITIATOR_DB_TYPE');
  if (engine !== 'mariadb' && engine !== 'postgres') throw new Error(`message-initiator: INITIATOR_DB_TYPE must be mariadb or postgres, not ${engine}`);

  @Module({
    imports: [
      TypeOrmModule.forRoot({
        type: engine === 'postgres' ? 'postgres' : 'mysql',
        url: required('INITIATOR_DB_URL'),
        migrations: TCC_BARRIER_MIGRATIONS,
        migrationsRun: true,
      }),
      TccModule.forRoot({
        coordinatorUrl: required('INITIATOR_COORDINATOR_URL'),
        apiKey: required('INITIATOR_API_KEY'),
        // The stored queryPrepared URL must reach the restarted process: the same fixed port.
        selfUrl: `http://127.0.0.1:${port}`,
        requestTimeoutMs: 5_000,
        barrierCleanup: { intervalMs: 0 },
      }),
    ],
    controllers: [SendController],
  })
  class MessageInitiatorModule {}

  const app = await NestFactory.create<NestFastifyApplication>(MessageInitiatorModule, new FastifyAdapter(), { logger: ['error', 'warn'] });
  await app.get(DataSource).query('CREATE TABLE IF NOT EXISTS kill_business (gid VARCHAR(128) NOT NULL PRIMARY KEY)');

  const client = app.get(CoordinatorClient);
  const submitMessage = client.submitMessage.bind(client);
  client.submitMessage = (gid, ...rest) => {
    if (killBeforeSubmit.has(gid)) die('after-commit', gid);
    return submitMessage(gid, ...rest);
  };

  const fastify = app.getHttpAdapter().getInstance();
  const arrivals = new WeakMap<object, number>();
  fastify.addHook('onRequest', async (request) => {
    arrivals.set(request, Date.now());
  });
  fastify.addHook('onSend', async (request, reply, payload) => {
    if (request.url.split('?')[0].endsWith('/query-prepared')) {
      const gid = (request.body as { gid?: unknown } | undefined)?.gid ?? request.headers['x-tcc-gid'];
      let answer: unknown = payload;
      try {
        answer = typeof payload === 'string' ? (JSON.parse(payload) as { status?: unknown }).status : undefined;
      } catch {
        // not JSON: printed as it is
      }
      print({ event: 'query-prepared', gid, arrivedAt: arrivals.get(request), answeredAt: Date.now(), statusCode: reply.statusCode, answer });
    }
    return payload;
  });

  await app.listen(port, '127.0.0.1');
  print({ event: 'ready', port });
}

main().catch((error: unknown) => {
  process.stderr.write(`message-initiator failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
