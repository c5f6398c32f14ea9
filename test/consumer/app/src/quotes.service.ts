import { Injectable } from '@nestjs/common';
import { Cacheable, CacheEvict } from '@redkit/cache';

export interface Quote {
  id: string;
  price: string;
  loads: number;
}

/** A slow source behind `@Cacheable`: `loads` counts how often the loader really ran. */
@Injectable()
export class QuotesService {
  private loads = 0;

  @Cacheable({ key: 'quote:{0}', ttlMs: 60_000 })
  async quote(id: string): Promise<Quote> {
    this.loads += 1;
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { id, price: '101.25', loads: this.loads };
  }

  @CacheEvict({ keys: ['quote:{0}'] })
  async forget(_id: string): Promise<void> {}
}
