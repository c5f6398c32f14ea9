import { Injectable } from '@nestjs/common';
import { WithLock } from '@redkit/lock';

/** A read-await-write that only `@WithLock` keeps exact under concurrent calls. */
@Injectable()
export class CountersService {
  private readonly counts = new Map<string, number>();

  @WithLock({ resource: 'counter:{0}', ttlMs: 5_000, maxWaitMs: 5_000 })
  async increment(id: string): Promise<number> {
    const before = this.counts.get(id) ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 2));
    this.counts.set(id, before + 1);
    return before + 1;
  }

  count(id: string): number {
    return this.counts.get(id) ?? 0;
  }
}
