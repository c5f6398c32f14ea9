export { MessagingModule } from './messaging.module.js';
export { MESSAGING_MODULE_OPTIONS } from './messaging.module-definition.js';
export type {
  MessagingModuleExtras,
  MessagingModuleOptions,
  PartitionLeaseOptions,
  StreamConsumerDefaults,
} from './messaging-options.interface.js';
export { EventBus } from './event-bus.js';
export type {
  EventEnvelope,
  EventHandler,
  EventSubscription,
  MissedWindow,
  MissedWindowPoll,
  PollWhileDisconnectedOptions,
  PublishEventOptions,
  ReconnectInfo,
  ReconnectListener,
} from './event-bus.types.js';
export { OnEvent, type OnEventMetadata, type OnEventOptions } from './on-event.decorator.js';
export {
  PollWhileDisconnected,
  type PollWhileDisconnectedDecoratorOptions,
} from './poll-while-disconnected.decorator.js';
export { LEADERSHIP, type Leadership } from './leadership.js';
export { StreamProducer, type StreamPublishOptions } from './stream-producer.js';
export { StreamConsumer, type StreamConsumerContext, type StreamConsumerOptions } from './stream-consumer.js';
export { StreamConsumers } from './stream-consumers.js';
export {
  MAX_PARTITIONS,
  partitionOf,
  partitionStreamName,
  type PartitionedStream,
} from './partitioned-stream.js';
export {
  PartitionedStreamConsumer,
  type PartitionedStreamConsumerOptions,
} from './partitioned-stream-consumer.js';
export type { StreamMessage, StreamMessageHandler } from './stream-message.js';
export { MESSAGE_PRIORITIES, type MessagePriority } from './stream-message.js';
export { DEFAULT_PRIORITY_WEIGHTS, type PriorityWeights } from './lane-scheduler.js';
export {
  StreamHandler,
  type StreamHandlerMetadata,
  type StreamHandlerOptions,
} from './stream-handler.decorator.js';
export {
  StreamInspector,
  type DeadLetter,
  type StreamGroupInfo,
  type StreamLaneStats,
  type StreamStats,
} from './stream-inspector.js';
export { IdempotencyStore, type RunOnceResult } from './idempotency.store.js';
export { MessagingMetrics, type StreamOutcome } from './messaging.metrics.js';
export { MessagingExplorer } from './messaging.explorer.js';
export {
  ON_EVENT_METADATA,
  POLL_WHILE_DISCONNECTED_METADATA,
  STREAM_HANDLER_METADATA,
} from './messaging.constants.js';
export {
  InvalidEventTypeError,
  MessagingDurabilityError,
  MessagingError,
  MessagingOptionsError,
} from './messaging.errors.js';
export { messagingAclManifest } from './messaging.acl.js';
