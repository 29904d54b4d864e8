import type { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startDashboard } from '../dashboard/server.js';
import { buildReport, renderReport, type ReferenceProfile } from '../report/report.js';
import { REPO_ROOT } from '../stack/paths.js';
import { describeEvent, nsToMs } from '../troubleshoot/format.js';
import { followLogs, searchLogs, type LogsQuery } from '../troubleshoot/logs.js';
import { logStoreFromEnv, type Hit, type LogStore } from '../troubleshoot/search.js';
import { topReport, type Top } from '../troubleshoot/top.js';
import { traceRequest, type Trace } from '../troubleshoot/trace.js';

const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`not a positive integer: ${v}`);
  return n;
};

const print = (out: string[]) => console.log(out.join('\n'));
const lines = (hits: Hit[]) => hits.flatMap((h) => describeEvent(h.event));

export function formatTrace(t: Trace): string[] {
  return [
    `trace of ${t.id}: request ${t.requestIds.join(', ') || '-'}, prediction ${t.predictionIds.join(', ') || '-'}`,
    '',
    ...lines(t.lines),
    '',
    t.around.length ? 'alerts and remediations around it:' : 'no alert or remediation around it',
    ...lines(t.around),
  ];
}

export function formatTop(t: Top): string[] {
  const ms = (ns: number | null) => (ns === null ? '-' : nsToMs(ns));
  return [
    `last ${t.since}: ${t.predictions} predictions`,
    '',
    'busiest replicas:',
    ...(t.replicas.length ? t.replicas.map((r) => `  ${r.replica.padEnd(14)} ${String(r.predictions).padStart(7)} predictions  p50 ${ms(r.p50Ns)}  p99 ${ms(r.p99Ns)}`) : ['  none']),
    '',
    'slowest predictions:',
    ...(t.slowest.length ? t.slowest.flatMap((h) => describeEvent(h.event).map((l) => `  ${l}`)) : ['  none']),
    '',
    'nginx errors by status:',
    ...(t.httpErrors.length ? t.httpErrors.map((e) => `  ${e.status}  ${e.count}`) : ['  none']),
    '',
    'api error codes:',
    ...(t.errorCodes.length ? t.errorCodes.map((e) => `  ${e.code.padEnd(24)} ${String(e.count).padStart(6)}${e.field ? `  (e.g. field ${e.field})` : ''}`) : ['  none']),
  ];
}

/** Runs a command against the configured cluster and closes the client, whatever happens. */
async function withStore(fn: (store: LogStore) => Promise<void>): Promise<void> {
  const store = logStoreFromEnv();
  try {
    await fn(store);
  } finally {
    await store.client.close();
  }
}

export function registerTroubleshootCommands(program: Command): void {
  program
    .command('trace <id>')
    .description("one request's timeline from its request id (X-Request-ID) or a prediction id: nginx's line with every upstream attempt, the predictions, their feedback, rejections, and alerts and remediations around it")
    .option('--around <duration>', 'how far before and after the request to look for alerts and remediations', '15m')
    .option('--json', 'print the matching events as JSON')
    .action((id: string, opts: { around: string; json?: boolean }) =>
      withStore(async (store) => {
        const t = await traceRequest(store, id, { around: opts.around });
        if (opts.json) console.log(JSON.stringify({ ...t, lines: t.lines.map((h) => h.event), around: t.around.map((h) => h.event) }, null, 2));
        else print(formatTrace(t));
      }),
    );

  program
    .command('logs')
    .description('search the indexed logs, newest last; --follow keeps printing new lines')
    .option('--dataset <dataset>', 'event.dataset, e.g. mlmon.app, nginx.access, mlmon.prediction')
    .option('--replica <name>', 'service.node.name, e.g. replica-2')
    .option('--level <level>', 'log.level: info, warn, error, ...')
    .option('--since <duration>', 'how far back: 30s, 15m, 2h, 1d', '15m')
    .option('--query <query>', "a query string as in Kibana's search bar, e.g. 'error.code:unknown_feature'")
    .option('-n, --lines <n>', 'how many lines', positive, 50)
    .option('-f, --follow', 'keep polling for new lines until interrupted')
    .option('--json', 'one JSON event per line (NDJSON)')
    .action((opts: { dataset?: string; replica?: string; level?: string; since: string; query?: string; lines: number; follow?: boolean; json?: boolean }) =>
      withStore(async (store) => {
        const q: LogsQuery = { ...opts, size: opts.lines };
        const show = (h: Hit) => (opts.json ? console.log(JSON.stringify(h.event)) : print(describeEvent(h.event)));
        if (!opts.follow) {
          const hits = await searchLogs(store, q);
          hits.forEach(show);
          if (hits.length === 0 && !opts.json) console.error(`no line in the last ${opts.since} matches`);
          return;
        }
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        await followLogs(store, q, show, { intervalMs: 1000, lagMs: 30_000, signal: stop.signal });
      }),
    );

  program
    .command('top')
    .description('slowest predictions, busiest replicas and error codes over a recent window')
    .option('--since <duration>', 'how far back: 30s, 15m, 2h, 1d', '15m')
    .option('-n, --lines <n>', 'how many slow predictions', positive, 10)
    .option('--json', 'print the report as JSON')
    .action((opts: { since: string; lines: number; json?: boolean }) =>
      withStore(async (store) => {
        const t = await topReport(store, { since: opts.since, size: opts.lines });
        if (opts.json) console.log(JSON.stringify({ ...t, slowest: t.slowest.map((h) => h.event) }, null, 2));
        else print(formatTop(t));
      }),
    );

  program
    .command('dashboard')
    .description("a live web page with the Kibana dashboards' panels, refreshed every 5 s, for a stack without Kibana")
    .option('--port <port>', 'port to listen on (0: any free port)', (v) => Number(v), 8060)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .action(async (opts: { port: number; host: string }) => {
      if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error(`--port must be a port number (got ${opts.port})`);
      const store = logStoreFromEnv();
      const { server, url } = await startDashboard(store, opts.port, opts.host);
      console.log(`mlmon dashboard on ${url} (index prefix "${store.prefix}"); Ctrl-C stops it`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      server.close();
      await store.client.close();
    });

  const isoDate = (flag: string) => (v: string) => {
    if (Number.isNaN(Date.parse(v))) throw new Error(`${flag} must be an ISO date-time such as 2026-11-22T08:00:00Z (got "${v}")`);
    return new Date(v).toISOString();
  };
  program
    .command('report')
    .description('one self-contained HTML file: quality per version, feature distributions against the training reference with PSI and KS, data quality, alerts')
    .requiredOption('--from <iso>', 'start of the window', isoDate('--from'))
    .requiredOption('--to <iso>', 'end of the window', isoDate('--to'))
    .option('--out <file>', 'where to write it', 'report.html')
    .option('--profile <file>', 'the training reference profile', path.join(REPO_ROOT, 'model', 'artifacts', 'reference_profile.json'))
    .action((opts: { from: string; to: string; out: string; profile: string }) =>
      withStore(async (store) => {
        if (opts.from >= opts.to) throw new Error('--from must be before --to');
        const profile = JSON.parse(readFileSync(opts.profile, 'utf8')) as ReferenceProfile;
        const report = await buildReport(store, { from: opts.from, to: opts.to, profile });
        writeFileSync(opts.out, renderReport(report, profile.name));
        console.log(`wrote ${opts.out}: ${report.predictions} predictions, ${report.quality.length} versions, ${report.events.length} alerts and remediations`);
      }),
    );
}
