/** Which broker actions a message step may name (docs/contract.md §10): only brokers TCC_BROKERS configures. */
import { Inject, Injectable } from '@nestjs/common';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../../config/coordinator.config';
import { parseBrokerAction } from './broker-action.parser';

@Injectable()
export class BrokerTargets {
  constructor(@Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig) {}

  /** What is wrong with a broker step's action, or null when it names a configured broker of its kind. */
  problem(protocol: 'amqp' | 'nats', action: string): string | null {
    const target = parseBrokerAction(protocol, action, this.config.brokers);
    return typeof target === 'string' ? target : null;
  }
}
