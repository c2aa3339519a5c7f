/** Whether this replica is shutting down: it then takes no new transactions. */
import { Injectable } from '@nestjs/common';

@Injectable()
export class ShutdownState {
  draining = false;
}
