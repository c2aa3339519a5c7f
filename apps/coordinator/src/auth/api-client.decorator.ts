/** `@ApiClient() client: string` in an HTTP handler behind ApiClientGuard: the authenticated client's name. */
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { clientOf } from './api-client.guard';

export const ApiClient = createParamDecorator((_: unknown, ctx: ExecutionContext): string => clientOf(ctx.switchToHttp().getRequest<object>()));
