import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';

import { checkEventPattern } from './event-envelope.js';
import { EventBus } from './event-bus.js';
import type { EventEnvelope } from './event-bus.types.js';
import { ON_EVENT_METADATA, STREAM_HANDLER_METADATA } from './messaging.constants.js';
import { MessagingOptionsError } from './messaging.errors.js';
import type { StreamMessage } from './stream-message.js';
import type { StreamHandlerMetadata } from './stream-handler.decorator.js';
import { StreamConsumers } from './stream-consumers.js';

type Method = (...args: unknown[]) => unknown;

/**
 * Applies `@OnEvent` and `@StreamHandler`: when the application has started, it finds every singleton
 * provider's decorated methods, subscribes them to the event bus or starts a stream consumer for them
 * (`this` is the provider). Request-scoped and transient providers are skipped with a warning.
 * Consumers stop with {@link StreamConsumers} before the connections close.
 */
@Injectable()
export class MessagingExplorer implements OnApplicationBootstrap {
  private readonly logger = new Logger('MessagingExplorer');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly bus: EventBus,
    private readonly consumers: StreamConsumers,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const work: Promise<unknown>[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      for (const { method, name, instance } of this.decoratedMethods(wrapper)) {
        const where = `${(instance as object).constructor.name}.${name}`;
        const patterns = (Reflect.getMetadata(ON_EVENT_METADATA, method) ?? []) as string[];
        for (const pattern of patterns) {
          try {
            checkEventPattern(pattern);
          } catch (error) {
            throw new MessagingOptionsError(`@OnEvent on ${where}`, (error as Error).message);
          }
          work.push(this.bus.subscribe(pattern, (event: EventEnvelope) => method.call(instance, event)));
        }
        const handlers = (Reflect.getMetadata(STREAM_HANDLER_METADATA, method) ??
          []) as StreamHandlerMetadata[];
        for (const { stream, group, options } of handlers) {
          work.push(
            this.consumers.start({
              ...options,
              stream,
              group,
              handler: (message: StreamMessage) => method.call(instance, message),
            }),
          );
        }
      }
    }
    await Promise.all(work);
  }

  private *decoratedMethods(
    wrapper: InstanceWrapper,
  ): Generator<{ method: Method; name: string; instance: unknown }> {
    const { instance, metatype } = wrapper;
    if (wrapper.isAlias || instance === null || typeof instance !== 'object') {
      if (wrapper.isAlias || wrapper.isNotMetatype || typeof metatype !== 'function') return;
    }
    const prototype = (
      instance !== null && typeof instance === 'object'
        ? Object.getPrototypeOf(instance)
        : (metatype as { prototype?: object } | undefined)?.prototype
    ) as Record<string, unknown> | undefined;
    if (prototype === undefined || prototype === null) return;
    for (const name of this.scanner.getAllMethodNames(prototype)) {
      const method = prototype[name] as Method;
      if (
        !Reflect.hasMetadata(ON_EVENT_METADATA, method) &&
        !Reflect.hasMetadata(STREAM_HANDLER_METADATA, method)
      ) {
        continue;
      }
      if (
        wrapper.isTransient ||
        !wrapper.isDependencyTreeStatic() ||
        instance === null ||
        typeof instance !== 'object'
      ) {
        this.logger.warn(
          `${name} of ${String((metatype as { name?: string } | undefined)?.name)} is on a request-scoped or transient provider: ` +
            'its @OnEvent / @StreamHandler is not applied (there is no single instance)',
        );
        continue;
      }
      yield { method, name, instance };
    }
  }
}
