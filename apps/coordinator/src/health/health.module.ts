/** `GET /health/live` and `/health/ready`: the database, the migrations, and (reported only) Redis. */
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { RecoveryModule } from '../recovery/recovery.module';
import { HealthController } from './health.controller';

@Module({ imports: [TerminusModule.forRoot({ logger: false }), RecoveryModule], controllers: [HealthController] })
export class HealthModule {}
