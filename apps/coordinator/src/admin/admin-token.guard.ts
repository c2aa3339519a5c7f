/**
 * `Authorization: Bearer <TCC_ADMIN_TOKEN>` for everything under /admin, compared in constant
 * time. With no token configured the admin API refuses every request.
 */
import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config/coordinator.config';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected: Buffer | null;

  constructor(@Inject(COORDINATOR_CONFIG) config: CoordinatorConfig) {
    this.expected = config.adminToken ? digest(config.adminToken) : null;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) throw new UnauthorizedException('the admin API is disabled: set TCC_ADMIN_TOKEN');
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    // Hashing first makes both sides the same length, so the comparison time says nothing.
    if (!match || !timingSafeEqual(digest(match[1]), this.expected)) {
      throw new UnauthorizedException('missing or wrong admin token');
    }
    return true;
  }
}
