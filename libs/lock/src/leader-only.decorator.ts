import { LEADER_ELECTOR, LEADER_ONLY_METADATA } from './lock.constants.js';
import type { LeaderElector } from './leader-elector.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Runs the method only while this instance leads the `LeaderElectionModule`'s election; elsewhere a
 * call does nothing and returns `undefined` (a resolved `undefined` for an async method). Fail-closed:
 * before the election started, after it stopped, or with Redis unreachable past the renew deadline,
 * nobody runs it.
 *
 * The method is wrapped where it is declared, so the decorator composes in either order with those
 * that only mark a method, such as `@Cron` / `@Interval` of @nestjs/schedule and `@OnEvent` /
 * `@StreamHandler` of @redkit/messaging: only the leader's timer or handler does the work. Applies to
 * singleton providers and controllers; the module attaches its elector to them at init.
 *
 * @example
 * @LeaderOnly()
 * @Cron('0 * * * * *')
 * async sweep(): Promise<void> { ... } // once a minute, on one instance
 */
export function LeaderOnly(): MethodDecorator {
  return (_target, key, descriptor) => {
    const original = descriptor.value as unknown as Method;
    if (typeof original !== 'function') throw new TypeError(`@LeaderOnly() on ${String(key)}: not a method`);
    const idle =
      original.constructor.name === 'AsyncFunction' ? () => Promise.resolve(undefined) : () => undefined;
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      const elector = (this as { [LEADER_ELECTOR]?: LeaderElector } | undefined)?.[LEADER_ELECTOR];
      if (elector === undefined || !elector.isLeader()) return idle();
      return original.apply(this, args);
    };
    Object.defineProperty(wrapped, 'name', { value: original.name });
    // Decorators applied before this one (below it) marked the original: keep their marks.
    for (const metadataKey of Reflect.getOwnMetadataKeys(original)) {
      Reflect.defineMetadata(metadataKey, Reflect.getOwnMetadata(metadataKey, original), wrapped);
    }
    Reflect.defineMetadata(LEADER_ONLY_METADATA, true, wrapped);
    (descriptor as TypedPropertyDescriptor<unknown>).value = wrapped;
    return descriptor;
  };
}
