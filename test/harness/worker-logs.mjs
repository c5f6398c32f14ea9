// Imported first by the fixtures that multi-process specs fork: Nest's logger stays silent in the
// workers, as in the test files, unless REDKIT_TEST_LOGS=1 (the workers inherit the environment).
import { Logger } from '@nestjs/common';

if (process.env.REDKIT_TEST_LOGS !== '1') Logger.overrideLogger(false);
