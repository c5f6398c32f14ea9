import { Injectable } from '@nestjs/common';
import { OnEvent, StreamHandler, type EventEnvelope, type StreamMessage } from '@redkit/messaging';

export interface Greeting {
  name: string;
}

/** What the event bus and the stream consumer delivered to this instance. */
@Injectable()
export class ActivityService {
  readonly events: string[] = [];
  readonly jobs: string[] = [];

  @OnEvent('greeting.*')
  heard(event: EventEnvelope<Greeting>): void {
    this.events.push(`${event.type}:${event.data.name}`);
  }

  @StreamHandler('jobs', 'workers')
  async work(message: StreamMessage<Greeting>): Promise<void> {
    this.jobs.push(`${message.type}:${message.data.name}`);
  }
}
