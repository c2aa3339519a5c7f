/**
 * Structured JSON logs through nestjs-pino: one line per event, the gid as a field on every line
 * about a transaction (including the access log of API calls naming one), and the admin token
 * never written.
 */
import { RequestMethod, type DynamicModule } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import type { LogLevel } from '../config/coordinator.config';

const GID_IN_PATH = /\/transactions\/([A-Za-z0-9_.:-]{1,128})(?:[/?]|$)/;

export function loggingModule(level: LogLevel, service: string): DynamicModule {
  return LoggerModule.forRoot({
    // The v1 API is the hot path: no per-request logger, access line or request context there. The
    // service logs one debug line per transaction (its decision) with the gid, and errors as ever.
    exclude: [
      { method: RequestMethod.ALL, path: 'v1/transactions' },
      { method: RequestMethod.ALL, path: 'v1/transactions/*path' },
    ],
    pinoHttp: {
      level,
      // Lines logged while serving a request carry its id, not the whole request.
      quietReqLogger: true,
      base: { service },
      redact: ['req.headers.authorization'],
      // Successful and refused calls are routine (debug); only server errors are worth a line.
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
        error || res.statusCode >= 500 ? 'error' : 'debug',
      customProps: (req: IncomingMessage) => {
        const gid = GID_IN_PATH.exec(req.url ?? '')?.[1];
        return gid ? { gid } : {};
      },
    },
  });
}
