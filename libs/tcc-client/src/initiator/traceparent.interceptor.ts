/** Makes the incoming request's `traceparent` current for its handler (see trace-context.ts). */
import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { TCC_HEADERS } from '../protocol';
import { isTraceparent, withTraceparent } from './trace-context';

@Injectable()
export class TraceparentInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<{ headers?: Record<string, string | string[] | undefined> }>();
    const traceparent = request.headers?.[TCC_HEADERS.traceparent];
    if (!isTraceparent(traceparent)) return next.handle();
    // Subscribing inside the context makes the (deferred) handler run inside it too.
    return new Observable((subscriber) => withTraceparent(traceparent, () => next.handle().subscribe(subscriber)));
  }
}
