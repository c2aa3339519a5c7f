/**
 * Structured JSON logs through nestjs-pino for the example services, like the
 * coordinator's: one line per event, and every line about a participant call carries its gid
 * (taken from the x-tcc-gid header).
 */
import { RequestMethod, type DynamicModule } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { TCC_HEADERS } from '@tcc/client/protocol';

export type ServiceLogLevel = 'error' | 'warn' | 'info' | 'debug';

export function serviceLoggingModule(level: ServiceLogLevel, service: string): DynamicModule {
  return LoggerModule.forRoot({
    // The participant endpoints are the hot path: no per-request logger or access line there (the
    // library logs each call at debug, with its gid, and every failure).
    exclude: [{ method: RequestMethod.POST, path: 'tcc/*path' }],
    pinoHttp: {
      level,
      base: { service },
      quietReqLogger: true,
      // Routine answers (refusals included) are debug; only server errors are worth a line.
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
        error || res.statusCode >= 500 ? 'error' : 'debug',
      customProps: (req: IncomingMessage) => {
        const gid = req.headers[TCC_HEADERS.gid];
        return typeof gid === 'string' ? { gid } : {};
      },
    },
  });
}
