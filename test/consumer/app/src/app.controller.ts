import { BadRequestException, Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { EventBus, StreamProducer } from '@redkit/messaging';
import { OrderBookStore, type OrderBookLevel, type OrderBookSnapshot } from '@redkit/orderbook';
import { RateLimit } from '@redkit/rate-limit';

import { ActivityService, type Greeting } from './activity.service.js';
import { CountersService } from './counters.service.js';
import { QuotesService, type Quote } from './quotes.service.js';

interface BookBody {
  sequence: number;
  bids: OrderBookLevel[];
  asks: OrderBookLevel[];
}

@Controller()
export class AppController {
  constructor(
    private readonly quotes: QuotesService,
    private readonly counters: CountersService,
    private readonly activity: ActivityService,
    private readonly books: OrderBookStore,
    private readonly bus: EventBus,
    private readonly producer: StreamProducer,
  ) {}

  @Get('quotes/:id')
  quote(@Param('id') id: string): Promise<Quote> {
    return this.quotes.quote(id);
  }

  @Get('limited')
  @RateLimit({ name: 'consumer-limited', limit: 2, windowMs: 60_000, key: 'ip' })
  limited(): { ok: true } {
    return { ok: true };
  }

  @Post('counters/:id')
  @HttpCode(200)
  async increment(@Param('id') id: string): Promise<{ value: number }> {
    return { value: await this.counters.increment(id) };
  }

  @Get('counters/:id')
  counter(@Param('id') id: string): { value: number } {
    return { value: this.counters.count(id) };
  }

  @Post('books/:symbol')
  @HttpCode(200)
  async book(@Param('symbol') symbol: string, @Body() body: BookBody): Promise<OrderBookSnapshot | null> {
    if (typeof body?.sequence !== 'number') throw new BadRequestException('sequence must be a number');
    await this.books.saveSnapshot(symbol, body);
    return this.books.getSnapshot(symbol, 10);
  }

  @Post('events')
  @HttpCode(202)
  async publish(@Body() body: Greeting): Promise<{ id: string }> {
    const envelope = await this.bus.publish('greeting.sent', { name: body.name });
    return { id: envelope.id };
  }

  @Post('jobs')
  @HttpCode(202)
  async enqueue(@Body() body: Greeting): Promise<{ id: string }> {
    return { id: await this.producer.publish('jobs', 'greeting.queued', { name: body.name }) };
  }

  @Get('activity')
  seen(): { events: string[]; jobs: string[] } {
    return { events: this.activity.events, jobs: this.activity.jobs };
  }
}
