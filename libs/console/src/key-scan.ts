import type { RedisClient } from '@redkit/redis';
import { Cluster, type Redis } from 'ioredis';

/** Keys each SCAN call asks the server to look at (COUNT): a bound on each call's work. */
export const SCAN_COUNT = 500;

/** The servers holding keys: every master of a Cluster, in a stable order, or the one server. */
export function keyNodes(client: RedisClient): Redis[] {
  if (!(client instanceof Cluster)) return [client];
  const address = (node: Redis) => `${node.options.host ?? ''}:${node.options.port ?? 0}`;
  return client.nodes('master').sort((left, right) => address(left).localeCompare(address(right)));
}

/**
 * A SCAN over every key node that can be advanced a few calls at a time and picks up where it left
 * off: each console read pays for a bounded number of SCAN calls (`budget`), never for the whole
 * keyspace at once, however large the production server. `passCompleted` says a whole pass over
 * every node ended during this advance.
 */
export class ResumableScan {
  private nodes?: Redis[];
  private node = 0;
  private cursor = '0';
  /** Whole passes finished so far. */
  passes = 0;

  constructor(
    private readonly client: RedisClient,
    private readonly pattern: string,
  ) {}

  async advance(budget: number): Promise<{ keys: string[]; passCompleted: boolean }> {
    const keys: string[] = [];
    let passCompleted = false;
    for (let calls = 0; calls < budget && !passCompleted; calls += 1) {
      this.nodes ??= keyNodes(this.client);
      const node = this.nodes[this.node];
      if (node === undefined) {
        this.restart();
        passCompleted = true;
        break;
      }
      const [next, batch] = await node.scan(this.cursor, 'MATCH', this.pattern, 'COUNT', SCAN_COUNT);
      keys.push(...batch);
      this.cursor = next;
      if (next === '0') {
        this.node += 1;
        if (this.node >= this.nodes.length) {
          this.restart();
          passCompleted = true;
        }
      }
    }
    return { keys, passCompleted };
  }

  private restart(): void {
    this.passes += 1;
    this.node = 0;
    this.cursor = '0';
    // A Cluster may have gained or lost masters since: read them again for the next pass.
    this.nodes = undefined;
  }
}

/**
 * One page of a SCAN the client drives: `cursor` is what the last page returned (`<node>:<scan
 * cursor>`), null to start. Stops after `limit` keys passed `accept`, or `maxCalls` SCAN calls, so
 * a page costs a bounded amount of work; the returned cursor is null once every node was scanned,
 * and `calls` says how many SCAN calls the page made.
 */
export async function scanPage(
  client: RedisClient,
  pattern: string,
  cursor: string | null,
  limit: number,
  maxCalls: number,
  accept: (key: string) => boolean = () => true,
): Promise<{ keys: string[]; cursor: string | null; calls: number }> {
  const nodes = keyNodes(client);
  let [nodeIndex, scanCursor] = parseCursor(cursor);
  const keys: string[] = [];
  let calls = 0;
  while (calls < maxCalls && keys.length < limit) {
    const node = nodes[nodeIndex];
    if (node === undefined) return { keys, cursor: null, calls };
    const [next, batch] = await node.scan(scanCursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
    calls += 1;
    for (const key of batch) if (accept(key)) keys.push(key);
    scanCursor = next;
    if (next === '0') {
      nodeIndex += 1;
      if (nodeIndex >= nodes.length) return { keys, cursor: null, calls };
    }
  }
  return { keys, cursor: `${nodeIndex}:${scanCursor}`, calls };
}

/** What {@link scanPage} returns as its cursor. */
const PAGE_CURSOR = /^(\d{1,4}):(\d{1,20})$/;

/** True when `cursor` is one {@link scanPage} could have returned. */
export function isScanCursor(cursor: string): boolean {
  return PAGE_CURSOR.test(cursor);
}

function parseCursor(cursor: string | null): [number, string] {
  const match = cursor === null ? null : PAGE_CURSOR.exec(cursor);
  if (match === null) return [0, '0'];
  return [Number(match[1]), match[2] as string];
}

/** A key part as redkit's keyspace encoded it (`%3A` for `:`), decoded. A hashed part (`%H...`) stays. */
export function decodeKeyPart(part: string): string {
  return part.includes('%')
    ? part.replace(/%([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    : part;
}
