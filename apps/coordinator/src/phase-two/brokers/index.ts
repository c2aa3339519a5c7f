/** Broker publishing of message steps (docs/contract.md §10): what phase two and the API use. */
export { BrokersModule } from './brokers.module';
export { BrokerPublisher, type BrokerPublishRequest } from './broker.publisher';
export { brokerMessage, type BrokerMessage, type BrokerMessageOptions } from './broker-message';
export { isBrokerProtocol, parseBrokerAction, type BrokerProtocol, type BrokerTarget, type AmqpTarget, type NatsTarget } from './broker-action.parser';
