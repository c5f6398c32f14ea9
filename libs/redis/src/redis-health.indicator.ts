import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Cluster } from 'ioredis';

import { DEFAULT_REDIS_CONNECTION, getRedisConnectionToken } from './redis.constants.js';
import type { RedisConnection } from './redis-connection.js';

/** The shape @nestjs/terminus expects from an indicator: `{ [key]: { status, ...details } }`. */
export type RedisHealthResult<Key extends string> = Record<
  Key,
  {
    status: 'up' | 'down';
    connection: string;
    latencyMs?: number;
    state: string;
    message?: string;
    /** ACL rules a module was refused in the last minute (see `RedisConnection.notePermission`). */
    refused?: string[];
  }
>;

export interface RedisHealthOptions {
  /** Which named connection to check. Default `default`. */
  connection?: string;
  /** How long the PING may take before the connection counts as down. Default: the command timeout. */
  timeoutMs?: number;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to PING within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Health of a Redis connection: a PING round trip (to every master on a Cluster) and the
 * connection's state. It returns a `down` result rather than throwing, which is what terminus's
 * `HealthCheckService.check` expects, and does not import @nestjs/terminus, so it costs nothing
 * to apps that do not use it.
 *
 * @example
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.redis.isHealthy('redis')]); }
 */
@Injectable()
export class RedisHealthIndicator {
  constructor(private readonly moduleRef: ModuleRef) {}

  async isHealthy<const Key extends string>(
    key: Key,
    options: RedisHealthOptions = {},
  ): Promise<RedisHealthResult<Key>> {
    const name = options.connection ?? DEFAULT_REDIS_CONNECTION;
    const connection = this.moduleRef.get<RedisConnection>(getRedisConnectionToken(name), { strict: false });
    const { client } = connection;
    const timeoutMs = options.timeoutMs ?? connection.options.commandTimeoutMs;
    const started = performance.now();
    try {
      const nodes = client instanceof Cluster ? client.nodes('master') : [client];
      if (nodes.length === 0) throw new Error('no cluster master is known');
      await withTimeout(Promise.all(nodes.map((node) => node.ping())), timeoutMs);
      const latencyMs = Math.round((performance.now() - started) * 100) / 100;
      const refusals = connection.recentRefusals();
      if (refusals.length > 0) {
        // Redis answers, but a module cannot do its work as this ACL user: not healthy either.
        return {
          [key]: {
            status: 'down',
            connection: name,
            latencyMs,
            state: client.status,
            message: refusals.map((refusal) => refusal.message).join('; '),
            refused: refusals.map((refusal) => `${refusal.module}: ${refusal.rule}`),
          },
        } as RedisHealthResult<Key>;
      }
      return {
        [key]: { status: 'up', connection: name, latencyMs, state: client.status },
      } as RedisHealthResult<Key>;
    } catch (error) {
      const message = connection.state.lastError ?? (error instanceof Error ? error.message : String(error));
      return {
        [key]: { status: 'down', connection: name, state: client.status, message },
      } as RedisHealthResult<Key>;
    }
  }
}
