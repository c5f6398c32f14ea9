// The "all of them in one service" example of the root README, kept compiling and running here by
// readme-example.spec.ts. Only loadBalance and applyWithdrawal are stand-ins.
import { Controller, Get, Injectable, Module, Param, Post } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Cacheable, CacheEvict, CacheModule } from '@redkit/cache';
import { LockModule, WithLock } from '@redkit/lock';
import { EventBus, MessagingModule, OnEvent, type EventEnvelope } from '@redkit/messaging';
import { MetricsModule } from '@redkit/metrics';
import { RateLimit, RateLimitGuard, RateLimitModule } from '@redkit/rate-limit';
import { RedisModule, type RedisModuleOptions } from '@redkit/redis';

export const balances = new Map<string, number>();
export const audited: string[] = [];
export let loads = 0;

async function loadBalance(id: string): Promise<number> {
  loads += 1;
  return balances.get(id) ?? 0;
}

async function applyWithdrawal(id: string, amount: string): Promise<void> {
  const before = balances.get(id) ?? 0;
  await new Promise((resolve) => setTimeout(resolve, 5)); // a read-await-write only the lock makes safe
  balances.set(id, before - Number(amount));
}

@Injectable()
export class Accounts {
  constructor(private readonly bus: EventBus) {}

  @Cacheable({ key: 'balance:{0}', ttlMs: 30_000, tags: ['balances'] })
  async balance(id: string) {
    return loadBalance(id); // runs once per key across concurrent callers; cached in L1 and Redis
  }

  @WithLock({ resource: 'account:{0}', ttlMs: 5_000, maxWaitMs: 2_000 })
  @CacheEvict({ keys: ['balance:{0}'] })
  async withdraw(id: string, amount: string) {
    await applyWithdrawal(id, amount); // one withdrawal per account at a time, across instances
    await this.bus.publish('account.changed', { id });
  }

  @OnEvent('account.*')
  audit(event: EventEnvelope<{ id: string }>) {
    audited.push(`${event.type} ${event.data.id}`); // every instance hears it
  }
}

@Controller('accounts')
export class AccountsController {
  constructor(private readonly accounts: Accounts) {}

  @Get(':id/balance')
  @RateLimit({ name: 'reads', limit: 100, windowMs: 1_000, key: 'ip' })
  balance(@Param('id') id: string) {
    return this.accounts.balance(id);
  }

  @Post(':id/withdrawals')
  @RateLimit({ name: 'writes', limit: 10, windowMs: 1_000, key: 'ip' })
  withdraw(@Param('id') id: string) {
    return this.accounts.withdraw(id, '10.00');
  }
}

/** The README's AppModule, with the Redis options the test harness gives. */
export function appModule(redis: RedisModuleOptions) {
  @Module({
    imports: [
      RedisModule.forRoot(redis),
      MetricsModule.forRoot(),
      CacheModule.forRoot(),
      RateLimitModule.forRoot(),
      LockModule.forRoot(),
      MessagingModule.forRoot(),
    ],
    controllers: [AccountsController],
    providers: [Accounts, { provide: APP_GUARD, useClass: RateLimitGuard }],
  })
  class AppModule {}
  return AppModule;
}
