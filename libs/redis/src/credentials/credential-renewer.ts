import type { Logger } from '@nestjs/common';
import { Cluster, type Redis } from 'ioredis';

import type { RedisClient } from '../redis-client.js';
import type { CredentialsSource, FetchedCredentials } from './credentials-source.js';

/** Share of a credential's life after which live connections re-AUTH with fresh ones. */
const RENEW_AT_SHARE = 0.75;
/** Retry delay after a renewal failed, while the old credentials may still hold. */
const RETRY_MS = 1_000;

/** What a renewal did, for the connection's metrics. */
export type RenewalOutcome = 'renewed' | 'failed';

/**
 * Keeps live connections authenticated when credentials expire (`expiresAt`): before the earliest
 * expiry of any credentials fetched, fetches fresh ones and sends AUTH on every ready connection of
 * the client (each node of a Cluster). AUTH re-authenticates a connection in place, so in-flight
 * commands carry on. Subscribers are not re-authenticated (RESP2 allows no AUTH while subscribed);
 * they take fresh credentials when they reconnect.
 */
export class CredentialRenewer {
  private timer?: NodeJS.Timeout;
  private renewAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly client: RedisClient,
    private readonly source: CredentialsSource,
    private readonly logger: Logger,
    private readonly onOutcome: (outcome: RenewalOutcome) => void = () => undefined,
  ) {
    this.unsubscribe = source.onFetched((credentials) => this.scheduleFor(credentials));
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    clearTimeout(this.timer);
  }

  private scheduleFor({ fetchedAt, expiresAt }: FetchedCredentials): void {
    if (expiresAt === undefined || this.stopped) return;
    this.schedule(fetchedAt + Math.max(0, expiresAt - fetchedAt) * RENEW_AT_SHARE);
  }

  private schedule(at: number): void {
    if (at >= this.renewAt) return;
    this.renewAt = at;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.renew(), Math.max(0, at - Date.now()));
    // A renewal alone does not keep the process alive.
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    this.renewAt = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    try {
      const credentials = await this.source.fetch();
      const args =
        credentials.username === undefined
          ? [credentials.password]
          : [credentials.username, credentials.password];
      await Promise.all(readyConnections(this.client).map((connection) => connection.call('AUTH', ...args)));
      this.onOutcome('renewed');
    } catch (error) {
      if (this.stopped) return;
      this.onOutcome('failed');
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.warn(
        `could not renew the credentials of live connections (${reason}); retrying in ${RETRY_MS} ms`,
      );
      this.schedule(Date.now() + RETRY_MS);
    }
  }
}

function readyConnections(client: RedisClient): Redis[] {
  const nodes = client instanceof Cluster ? client.nodes('all') : [client];
  return nodes.filter((node) => node.status === 'ready');
}
