import { ConfigurableModuleBuilder, type DynamicModule, type Provider } from '@nestjs/common';
import { getRedisConnectionToken } from '@redkit/redis';

import { ApiKeySessions } from './api-key-sessions.js';
import { SessionRevocations } from './session-revocations.js';
import { ConsoleAssets } from './console-assets.js';
import { ConsoleAudit } from './console-audit.js';
import {
  CONSOLE_CONNECTION,
  CONSOLE_DEFAULT_PATH,
  CONSOLE_EXTRAS,
  CONSOLE_MODULE_OPTIONS,
  CONSOLE_OPENAPI,
  CONSOLE_RESOLVED_OPTIONS,
} from './console.constants.js';
import { createConsoleControllers } from './console.controllers.js';
import { documentConsoleApi } from './console.openapi.js';
import type { ConsoleModuleExtras, ConsoleModuleOptions } from './console-options.interface.js';
import {
  resolveConsoleExtras,
  resolveConsoleOptions,
  type ResolvedConsoleOptions,
} from './console-options.validator.js';
import { ConsolePeers } from './console-peers.js';
import { ConsoleStartupWarnings } from './console-startup.warnings.js';
import { DeadLettersService } from './dead-letters.service.js';
import { PayloadRedactor } from './payload-redactor.js';
import { PendingEntriesService } from './pending-entries.service.js';
import { StreamDirectory } from './stream-directory.js';
import { StreamsView } from './streams.view.js';
import { CacheView } from './cache.view.js';
import { EventTail } from './event-tail.js';
import { LiveHub } from './live.hub.js';
import { LocksView } from './locks.view.js';
import { MetricsSampler } from './metrics.sampler.js';
import { OrderBookView } from './orderbook.view.js';
import { RedisView } from './redis.view.js';

/** The services behind the views, each built once per console. */
const SERVICES: Provider[] = [
  ConsolePeers,
  ApiKeySessions,
  SessionRevocations,
  ConsoleAudit,
  StreamDirectory,
  StreamsView,
  PendingEntriesService,
  DeadLettersService,
  MetricsSampler,
  LocksView,
  CacheView,
  EventTail,
  RedisView,
  OrderBookView,
  LiveHub,
  ConsoleStartupWarnings,
];

export const {
  ConfigurableModuleClass: ConsoleConfigurableModule,
  OPTIONS_TYPE: CONSOLE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: CONSOLE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ConsoleModuleOptions>({
  moduleName: 'Console',
  optionsInjectionToken: CONSOLE_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setExtras<ConsoleModuleExtras>(
    { path: CONSOLE_DEFAULT_PATH, connection: 'default', guard: undefined },
    (definition, given): DynamicModule => {
      const extras = resolveConsoleExtras(given);
      const controllers = createConsoleControllers(extras);
      const providers: Provider[] = [
        { provide: CONSOLE_EXTRAS, useValue: extras },
        {
          provide: CONSOLE_RESOLVED_OPTIONS,
          useFactory: (options: ConsoleModuleOptions | undefined) =>
            resolveConsoleOptions(options, extras.guard !== undefined),
          inject: [CONSOLE_MODULE_OPTIONS],
        },
        { provide: CONSOLE_CONNECTION, useExisting: getRedisConnectionToken(extras.connection) },
        {
          provide: PayloadRedactor,
          useFactory: (options: ResolvedConsoleOptions) => new PayloadRedactor(options),
          inject: [CONSOLE_RESOLVED_OPTIONS],
        },
        { provide: ConsoleAssets, useFactory: () => new ConsoleAssets() },
        {
          // Runs while the app is created, before SwaggerModule.createDocument reads the routes.
          provide: CONSOLE_OPENAPI,
          useFactory: (options: ResolvedConsoleOptions) =>
            documentConsoleApi(controllers, options.apiKey !== undefined),
          inject: [CONSOLE_RESOLVED_OPTIONS],
        },
        ...SERVICES,
      ];
      return {
        ...definition,
        providers: [...(definition.providers ?? []), ...providers],
        controllers,
      };
    },
  )
  .build();
