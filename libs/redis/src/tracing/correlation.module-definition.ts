import { ConfigurableModuleBuilder } from '@nestjs/common';

import type { CorrelationModuleOptions } from './correlation-options.js';

/** Injection token of the options given to `CorrelationModule.forRoot`. */
export const CORRELATION_MODULE_OPTIONS = 'REDKIT:CORRELATION:MODULE_OPTIONS';

export const {
  ConfigurableModuleClass: CorrelationConfigurableModule,
  OPTIONS_TYPE: CORRELATION_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<CorrelationModuleOptions>({
  moduleName: 'Correlation',
  optionsInjectionToken: CORRELATION_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .build();
