import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { RedkitLogger } from '@redkit/redis';

import { checkEventPattern } from './event-envelope.js';
import { EventBus } from './event-bus.js';
import type { EventEnvelope } from './event-bus.types.js';
import { LEADERSHIP, type Leadership } from './leadership.js';
import {
  ON_EVENT_METADATA,
  POLL_WHILE_DISCONNECTED_METADATA,
  STREAM_HANDLER_METADATA,
} from './messaging.constants.js';
import { MessagingOptionsError } from './messaging.errors.js';
import type { OnEventMetadata } from './on-event.decorator.js';
import type { PollWhileDisconnectedDecoratorOptions } from './poll-while-disconnected.decorator.js';
import type { StreamMessage } from './stream-message.js';
import type { StreamHandlerMetadata } from './stream-handler.decorator.js';
import { StreamConsumers } from './stream-consumers.js';

type Method = (...args: unknown[]) => unknown;

const DECORATIONS = [ON_EVENT_METADATA, STREAM_HANDLER_METADATA, POLL_WHILE_DISCONNECTED_METADATA];

/**
 * Applies `@OnEvent`, `@PollWhileDisconnected` and `@StreamHandler`: when the application has
 * started, it finds every singleton provider's decorated methods, subscribes them to the event bus,
 * registers their poll, or starts a stream consumer for them (`this` is the provider). `leaderOnly`
 * ones ask the app's {@link LEADERSHIP} provider on each call. Request-scoped and transient providers
 * are skipped with a warning. Each handler runs in its message's context: the publisher's
 * correlation id and, while traced, a span under the publisher's (the bus and the consumers see to it).
 * Consumers stop with {@link StreamConsumers} before the connections close.
 */
@Injectable()
export class MessagingExplorer implements OnApplicationBootstrap {
  private readonly logger = new RedkitLogger('MessagingExplorer');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly bus: EventBus,
    private readonly consumers: StreamConsumers,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const work: Promise<unknown>[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      for (const { method, name, instance } of this.decoratedMethods(wrapper)) {
        const where = `${(instance as object).constructor.name}.${name}`;
        const subscriptions = (Reflect.getMetadata(ON_EVENT_METADATA, method) ?? []) as OnEventMetadata[];
        for (const { pattern, leaderOnly } of subscriptions) {
          try {
            checkEventPattern(pattern);
          } catch (error) {
            throw new MessagingOptionsError(`@OnEvent on ${where}`, (error as Error).message);
          }
          const leads = this.gate(leaderOnly, `@OnEvent('${pattern}', { leaderOnly }) on ${where}`);
          work.push(
            this.bus.subscribe(pattern, (event: EventEnvelope) =>
              leads() ? method.call(instance, event) : undefined,
            ),
          );
        }
        const poll = Reflect.getMetadata(POLL_WHILE_DISCONNECTED_METADATA, method) as
          PollWhileDisconnectedDecoratorOptions | undefined;
        if (poll !== undefined) {
          const decorator = `@PollWhileDisconnected on ${where}`;
          if (typeof poll !== 'object' || poll === null)
            throw new MessagingOptionsError(decorator, 'needs options: { everyMs }');
          const when = this.gate(poll.leaderOnly ?? false, `${decorator} (leaderOnly)`);
          try {
            this.bus.pollWhileDisconnected((window) => method.call(instance, window), {
              everyMs: poll.everyMs,
              overlapMs: poll.overlapMs,
              when,
            });
          } catch (error) {
            throw new MessagingOptionsError(decorator, (error as Error).message);
          }
        }
        const handlers = (Reflect.getMetadata(STREAM_HANDLER_METADATA, method) ??
          []) as StreamHandlerMetadata[];
        for (const { stream, group, options } of handlers) {
          const handler = (message: StreamMessage) => method.call(instance, message);
          work.push(
            typeof stream === 'string'
              ? this.consumers.start({ ...options, stream, group, handler })
              : this.consumers.startPartitioned({ ...options, stream, group, handler }),
          );
        }
      }
    }
    await Promise.all(work);
  }

  /** Whether a handler runs: always, or (leaderOnly) while the app's Leadership says it leads. */
  private gate(leaderOnly: boolean, where: string): () => boolean {
    if (leaderOnly !== true) {
      if (leaderOnly !== false) throw new MessagingOptionsError(where, 'leaderOnly must be a boolean');
      return () => true;
    }
    let leadership: Leadership | undefined;
    try {
      leadership = this.moduleRef.get<Leadership>(LEADERSHIP, { strict: false });
    } catch {
      leadership = undefined;
    }
    if (typeof leadership?.isLeader !== 'function') {
      throw new MessagingOptionsError(
        where,
        `needs a leader election: import LeaderElectionModule.forRoot() of @redkit/lock, or provide an object with isLeader() under the token LEADERSHIP ('${LEADERSHIP}')`,
      );
    }
    const elected = leadership;
    return () => elected.isLeader();
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
      if (!DECORATIONS.some((decoration) => Reflect.hasMetadata(decoration, method))) continue;
      if (
        wrapper.isTransient ||
        !wrapper.isDependencyTreeStatic() ||
        instance === null ||
        typeof instance !== 'object'
      ) {
        this.logger.warn(
          `${name} of ${String((metatype as { name?: string } | undefined)?.name)} is on a request-scoped or transient provider: ` +
            'its @OnEvent / @PollWhileDisconnected / @StreamHandler is not applied (there is no single instance)',
        );
        continue;
      }
      yield { method, name, instance };
    }
  }
}
