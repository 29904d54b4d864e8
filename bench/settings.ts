import { z } from 'zod';
import { commaList, loadConfig, positiveDuration, positiveInt, setting } from '@mlmon/runtime';

/** What the benchmarks (`npm run bench:*`) read from the environment. */
export const benchConfigShape = {
  MLMON_BENCH_ROUNDS: setting(positiveInt.default(3), { description: 'Rounds of each variant, taking turns; tables show medians.', aliases: ['BENCH_ROUNDS'] }),
  MLMON_BENCH_DURATION: setting(positiveDuration.prefault('10s'), {
    description: 'Length of each load run (bench:api, bench:scaling).',
    aliases: [{ name: 'BENCH_SECONDS', unit: 's' }],
  }),
  MLMON_BENCH_CONNECTIONS: setting(positiveInt.optional(), {
    description: 'Connections autocannon keeps open (bench:api, bench:scaling).',
    aliases: ['BENCH_CONNECTIONS'],
    shownDefault: '16 (bench:api), 32 (bench:scaling)',
  }),
  MLMON_BENCH_EVENTS: setting(positiveInt.default(100_000), { description: 'Lines in the file each shipper variant indexes (bench:shipper).', aliases: ['BENCH_EVENTS'] }),
  MLMON_BENCH_LAG_DURATION: setting(positiveDuration.prefault('20s'), {
    description: 'Length of the end-to-end lag phase (bench:shipper).',
    aliases: [{ name: 'BENCH_LAG_SECONDS', unit: 's' }],
  }),
  MLMON_BENCH_LAG_RATE: setting(positiveInt.default(1000), { description: 'Predictions per second written during the lag phase (bench:shipper).', aliases: ['BENCH_LAG_RATE'] }),
  MLMON_BENCH_OOD_PAIRS: setting(positiveInt.default(10), {
    description: 'Back-to-back 5 s runs of a replica with the OOD score on and one with it off (bench:api), for the ratio of the two.',
  }),
  MLMON_BENCH_WARMUP: setting(positiveDuration.prefault('120s'), {
    description: "Steady traffic before each shift (bench:detection): long enough to fill the rules' 1m window and flush the last shift out of it.",
  }),
  MLMON_BENCH_ES_URL: setting(z.url().optional(), {
    description: 'An existing cluster for bench:shipper (no Elasticsearch CPU column then); unset: it starts its own.',
    aliases: ['BENCH_ES_URL'],
  }),
  MLMON_BENCH_COST_PREDICTIONS: setting(positiveInt.default(6000), { description: 'Predictions each bench:cost run sends.' }),
  MLMON_BENCH_COST_RATES: setting(commaList.transform((xs) => xs.map(Number)).pipe(z.array(z.number().int().positive()).min(1)).prefault('100,300'), { description: 'Request rates (per second) bench:cost runs at.' }),
  MLMON_BENCH_COST_WINDOWS: setting(
    z
      .string()
      .transform((v) => v.split(';').map((w) => w.trim()))
      .prefault('1m,5m,1h;1m,5m,24h'),
    { description: "The analyzer's window settings bench:cost compares (MLMON_ANALYZER_WINDOWS values, separated by `;`)." },
  ),
  MLMON_BENCH_BASELINE: setting(z.string().min(1).optional(), {
    description: "A git ref whose index templates bench:cost also runs, side by side with this checkout's (e.g. `land`); unset: this checkout's only.",
  }),
};

export const benchConfig = () => loadConfig(benchConfigShape);
