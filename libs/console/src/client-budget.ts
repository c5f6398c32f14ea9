/**
 * A token bucket per client, in memory: `perSecond` requests a second, bursts of twice that. The
 * console's own guard on Redis: one client (a script, a stuck browser tab) cannot turn the console
 * into load on a production server. Bounded at `maxClients` buckets, the least recently seen dropped.
 */
export class ClientBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly burst: number;

  constructor(
    private readonly perSecond: number,
    private readonly maxClients = 10_000,
  ) {
    this.burst = perSecond * 2;
  }

  /** Takes one token for `client`; false when it has none left. */
  take(client: string, now = performance.now()): boolean {
    let bucket = this.buckets.get(client);
    if (bucket === undefined) bucket = { tokens: this.burst, at: now };
    else this.buckets.delete(client);
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1_000) * this.perSecond);
    bucket.at = now;
    this.buckets.set(client, bucket);
    if (this.buckets.size > this.maxClients) this.buckets.delete(this.buckets.keys().next().value as string);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
