import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import type { RedisConnection } from '@redkit/redis';

import type { LockInfo, LocksBody } from './console-api.types.js';
import { CONSOLE_CONNECTION } from './console.constants.js';
import { decodeKeyPart, isScanCursor, scanPage } from './key-scan.js';
import { asHttpError } from './redis-unavailable.js';

/** How each kind is found: its keyspace module and the key whose presence means held. */
interface KindScan {
  kind: LockInfo['kind'];
  module: 'lock' | 'semaphore' | 'rwlock' | 'leader';
  /** The held key's suffix, after the `{<name>}` tag. */
  held: string;
}

/** Lock layouts of @redkit/lock (see its lock-scripts, semaphore-scripts, read-write-lock-scripts, leader-scripts). */
const KINDS: readonly KindScan[] = [
  { kind: 'lock', module: 'lock', held: 'owner' },
  { kind: 'semaphore', module: 'semaphore', held: 'holders' },
  { kind: 'rwlock', module: 'rwlock', held: 'writer' },
  { kind: 'rwlock', module: 'rwlock', held: 'readers' },
  { kind: 'leader', module: 'leader', held: 'lease' },
];
/** SCAN calls one page may spend, over all kinds. */
const MAX_SCAN_CALLS = 20;
const CURSOR = /^(\d)\.(\d{1,4}:\d{1,20})$/;

function numberOrNull(value: string | null): number | null {
  if (value === null) return null;
  const number = Number(value);
  return Number.isFinite(number) ? number : null;
}

function remaining(pttl: number): number | null {
  return pttl >= 0 ? pttl : null;
}

/**
 * The Locks view: held locks, semaphores, read-write locks and leader leases under the app's key
 * prefix, found by SCAN with a COUNT and a per-page budget of calls (never KEYS), every master of
 * a Cluster, paged by an opaque cursor; each one's lease, fencing counter and waiters read with
 * PTTL, GET and ZCARD. A lock taken or released between pages may be missed or listed twice.
 */
@Injectable()
export class LocksView {
  constructor(@Inject(CONSOLE_CONNECTION) private readonly connection: RedisConnection) {}

  async page(cursor: string | undefined, limit: number): Promise<LocksBody> {
    let kindIndex = 0;
    let scanCursor: string | null = null;
    if (cursor !== undefined) {
      const match = CURSOR.exec(cursor);
      if (match === null || Number(match[1]) >= KINDS.length || !isScanCursor(match[2] as string)) {
        throw new BadRequestException('cursor: not a cursor this endpoint returned');
      }
      kindIndex = Number(match[1]);
      scanCursor = match[2] as string;
    }
    const locks: LockInfo[] = [];
    let calls = MAX_SCAN_CALLS;
    try {
      while (kindIndex < KINDS.length && locks.length < limit && calls > 0) {
        const scan = KINDS[kindIndex] as KindScan;
        const base = this.connection.keyspace(scan.module).base;
        const suffix = `}:${scan.held}`;
        const page = await scanPage(
          this.connection.client,
          `${base}{*${suffix}`,
          scanCursor,
          limit - locks.length,
          calls,
          (key) => key.startsWith(`${base}{`) && key.endsWith(suffix),
        );
        calls -= page.calls;
        const found = await Promise.all(
          page.keys.map((key) => this.describe(scan, base, key.slice(base.length + 1, -suffix.length))),
        );
        for (const info of found) if (info !== null) locks.push(info);
        if (page.cursor === null) {
          kindIndex += 1;
          scanCursor = null;
        } else scanCursor = page.cursor;
      }
    } catch (error) {
      throw asHttpError(this.connection, error, 'the locks list');
    }
    const next = kindIndex >= KINDS.length ? null : `${kindIndex}.${scanCursor ?? '0:0'}`;
    return { locks, cursor: next };
  }

  /** One held thing's state (`tag` as it is in its keys); null when it was released meanwhile. */
  private async describe(scan: KindScan, base: string, tag: string): Promise<LockInfo | null> {
    const { client } = this.connection;
    const tagged = `${base}{${tag}}:`;
    const name = decodeKeyPart(tag);
    switch (scan.module) {
      case 'lock': {
        const [pttl, fence, waiters] = await Promise.all([
          client.pttl(`${tagged}owner`),
          client.get(`${tagged}fence`),
          client.zcard(`${tagged}queue`),
        ]);
        if (pttl === -2) return null;
        return {
          kind: 'lock',
          resource: name,
          fencingToken: numberOrNull(fence),
          remainingMs: remaining(pttl),
          holders: 1,
          waiters,
          holder: null,
        };
      }
      case 'semaphore': {
        const [pttl, holders, fence, waiters] = await Promise.all([
          client.pttl(`${tagged}holders`),
          client.zcard(`${tagged}holders`),
          client.get(`${tagged}fence`),
          client.zcard(`${tagged}queue`),
        ]);
        if (holders === 0) return null;
        return {
          kind: 'semaphore',
          resource: name,
          fencingToken: numberOrNull(fence),
          remainingMs: remaining(pttl),
          holders,
          waiters,
          holder: null,
        };
      }
      case 'rwlock': {
        const [pttl, readers, fence, waiters] = await Promise.all([
          client.pttl(`${tagged}${scan.held}`),
          scan.held === 'readers' ? client.zcard(`${tagged}readers`) : Promise.resolve(1),
          client.get(`${tagged}fence`),
          client.zcard(`${tagged}waiting`),
        ]);
        if (pttl === -2 || readers === 0) return null;
        return {
          kind: 'rwlock',
          resource: name,
          fencingToken: numberOrNull(fence),
          remainingMs: remaining(pttl),
          holders: readers,
          waiters,
          holder: null,
        };
      }
      case 'leader': {
        const [lease, pttl] = await Promise.all([
          client.get(`${tagged}lease`),
          client.pttl(`${tagged}lease`),
        ]);
        if (lease === null) return null;
        const space = lease.indexOf(' ');
        return {
          kind: 'leader',
          resource: name,
          fencingToken: numberOrNull(space === -1 ? lease : lease.slice(0, space)),
          remainingMs: remaining(pttl),
          holders: 1,
          waiters: null,
          holder: space === -1 ? null : lease.slice(space + 1),
        };
      }
    }
  }
}
