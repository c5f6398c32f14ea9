// jest setupFiles: runs in each test file's own module registry, before the file, so the libs'
// loggers in that file write to the harness's TestFileLogger: silent unless REDKIT_TEST_LOGS=1.
import { pinTestFileLogger } from './nest-logs.js';

pinTestFileLogger();
