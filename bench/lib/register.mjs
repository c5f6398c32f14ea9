// Lets `node --import ./bench/lib/register.mjs bench/<module>.bench.ts` run the benchmarks' TypeScript
// directly: it registers ts-hooks.mjs, which compiles each .ts file with the repo's .swcrc (the same
// transform the build and jest use) as Node loads it. Node 20 cannot strip types on its own.
// The redkit libs are NOT compiled here: '@redkit/<lib>' resolves through the package's `default`
// export condition to libs/<lib>/dist, which scripts/bench.mjs builds before every run.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
