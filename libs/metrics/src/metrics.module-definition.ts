import { ConfigurableModuleBuilder } from '@nestjs/common';
import { createMetricsController } from './metrics.controller.js';
import { DEFAULT_METRICS_PATH, METRICS_MODULE_OPTIONS } from './metrics.constants.js';
import type { MetricsModuleExtras, MetricsModuleOptions } from './metrics-module-options.interface.js';
import { validateMetricsModuleExtras } from './metrics-options.validator.js';

export const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<MetricsModuleOptions>({ optionsInjectionToken: METRICS_MODULE_OPTIONS })
    .setClassMethodName('forRoot')
    .setExtras<MetricsModuleExtras>({ isGlobal: true, path: DEFAULT_METRICS_PATH }, (definition, extras) => {
      const { isGlobal, path } = validateMetricsModuleExtras(extras);
      return {
        ...definition,
        global: isGlobal,
        controllers: path === false ? [] : [createMetricsController(path)],
      };
    })
    .build();
