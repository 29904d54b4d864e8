import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpConnection, type Client } from '@elastic/elasticsearch';
import { createEsClient, createEventLog, formatDuration, type EventLog } from '@mlmon/runtime';
import { familyPattern, LOG_BASENAMES, setupTemplates } from '@mlmon/contract';
import type { AnalyzerConfig } from './config.js';
import type { AnalysisContext, AnalysisSettings } from './context.js';
import { Joiner, StateFile } from './labeled.js';
import { Judgments } from './judgment/registry.js';
import { loadReference, type Reference } from './reference.js';
import { SliceStore } from './slices.js';
import { analyzeWindow, type WindowReport } from './window.js';
import { AnalyzerWriter } from './writer.js';

export function settingsOf(config: AnalyzerConfig): AnalysisSettings {
  return {
    minLabeled: config.MLMON_ANALYZER_MIN_LABELED,
    ...(config.MLMON_ANALYZER_MIN_PREDICTIONS !== undefined ? { minPredictions: config.MLMON_ANALYZER_MIN_PREDICTIONS } : {}),
    alpha: config.MLMON_ANALYZER_ALPHA,
    psiFloor: 1e-4,
    calibration: config.MLMON_ANALYZER_CBPE_CALIBRATION,
    referenceChunks: config.MLMON_ANALYZER_REFERENCE_CHUNKS,
    minDiscordant: config.MLMON_ANALYZER_SHADOW_MIN_DISCORDANT,
  };
}

/** The analysis context of a configuration: the judgments fitted on the reference profile and the versions' reference.json files. */
export function contextOf(config: AnalyzerConfig, client: Client, reference: Reference, say?: (message: string) => void): AnalysisContext {
  const settings = settingsOf(config);
  const dirs = [config.MLMON_ANALYZER_MODEL_DIR, ...(config.MLMON_ANALYZER_RETRAINED_MODEL_DIR ? [config.MLMON_ANALYZER_RETRAINED_MODEL_DIR] : [])];
  return { client, prefix: config.MLMON_INDEX_PREFIX, reference, settings, judgments: new Judgments(reference, settings, dirs, say) };
}

export interface Analyzer {
  /** Resolves after the pass under way (if any) finished and the event log is closed. */
  stop(): Promise<void>;
  /** Ticks computed so far, and the last error (Elasticsearch unreachable...) if the last attempt failed. */
  status(): { ticks: number; lastTick?: string; lastError?: string };
  readonly log: EventLog;
}

/**
 * The analyzer service: every interval it joins new feedback to its
 * predictions, brings the per-tick slices up to date (slices.ts), then merges
 * each configured window ending at that tick from them and indexes its metric
 * documents (writer.ts); its own app lines go to `MLMON_LOG_DIR/analyzer.ndjson`,
 * which the log shipper indexes like every other log. Ticks are multiples of the interval and the
 * next one to compute is kept in the state file, so after Elasticsearch was
 * down (or the analyzer itself) every missed tick is computed once it is back.
 */
export async function startAnalyzer(config: AnalyzerConfig, opts: { client?: Client; reference?: Reference; say?: (m: string) => void } = {}): Promise<Analyzer> {
  const reference = opts.reference ?? loadReference(config.MLMON_ANALYZER_REFERENCE_PROFILE);
  const client = opts.client ?? createEsClient(config, { name: 'mlmon-analyzer' });
  const prefix = config.MLMON_INDEX_PREFIX;
  const log = createEventLog({
    service: 'mlmon-analyzer',
    node: config.MLMON_ANALYZER_NODE,
    dir: config.MLMON_LOG_DIR,
    basename: LOG_BASENAMES.analyzer,
    maxBytes: 50 * 1024 * 1024,
    maxFiles: 3,
    stdout: config.MLMON_LOG_STDOUT,
  });
  const say = (level: 'info' | 'warn', message: string) => {
    void log.write('mlmon.app', level, message, {});
    (opts.say ?? ((m: string) => (level === 'warn' ? console.error : console.log)(`analyzer: ${m}`)))(message);
  };
  const interval = config.MLMON_ANALYZER_INTERVAL;
  const horizon = config.MLMON_ANALYZER_LATE_HORIZON;
  const writer = new AnalyzerWriter(client, { prefix, node: config.MLMON_ANALYZER_NODE, report: (m) => say('warn', m) });
  const joiner = new Joiner(client, prefix, reference.positiveLabel, new StateFile(path.join(config.MLMON_ANALYZER_STATE_DIR, 'state.json')), {
    progress: (m) => say('info', m),
    sliceMs: interval,
    writer,
    shadowWaitMs: horizon,
  });
  const ctx = contextOf(config, client, reference, (m) => say('warn', m));
  const slices = new SliceStore(ctx, {
    intervalMs: interval,
    windows: config.MLMON_ANALYZER_WINDOWS,
    lateHorizonMs: horizon,
    dir: path.join(config.MLMON_ANALYZER_STATE_DIR, 'slices'),
    say: (m) => say('info', m),
  });
  const floorTick = (t: number) => Math.floor(t / interval) * interval;
  // What happened while this process was not running is unknown: every kept slice is re-checked for one late horizon.
  // The same after an outage, from the last tick before it: the shipper's backlog lands after Elasticsearch is back.
  let recheck: { from: number; until: number } | undefined = { from: -Infinity, until: Date.now() + horizon };
  let ticks = 0;
  let lastTick: string | undefined;
  let lastError: string | undefined;
  let prepared = false;
  const abort = new AbortController();

  const pass = async () => {
    if (!prepared) {
      // Off where a setup job installs templates (least privilege: the analyzer's role cannot).
      if (config.MLMON_ANALYZER_SETUP_TEMPLATES) await setupTemplates(client, { prefix });
      prepared = true;
    }
    const joined = await joiner.run();
    if (joined.feedbackRead > 0 || joined.joined > 0 || joined.shadows > 0) {
      const shadows = joined.shadows + joined.shadowsPending > 0 ? `, ${joined.shadows} shadow copies labeled (${joined.shadowsPending} not indexed yet)` : '';
      say('info', `feedback: ${joined.feedbackRead} read, ${joined.joined} joined, ${joined.orphaned} orphaned (prediction not indexed yet), ${joined.superseded} superseded${shadows}`);
    }
    const now = Date.now();
    let next = joiner.nextTick ?? floorTick(now);
    if (next < floorTick(now - config.MLMON_ANALYZER_MAX_CATCHUP)) {
      const skipTo = floorTick(now - config.MLMON_ANALYZER_MAX_CATCHUP);
      say('warn', `skipping ticks ${new Date(next).toISOString()} to ${new Date(skipTo).toISOString()}: older than MLMON_ANALYZER_MAX_CATCHUP`);
      next = skipTo;
    }
    while (next <= now && !abort.signal.aborted) {
      if (recheck && Date.now() >= recheck.until) recheck = undefined;
      await slices.update(next, { pending: joiner.pendingSlices(), ...(recheck ? { checkFrom: recheck.from } : {}) });
      await joiner.clearPending(next);
      const reports = config.MLMON_ANALYZER_WINDOWS.map((w) => slices.report(next, w));
      await writer.metrics(reports);
      const empty = reports.filter((r) => r.versions.length === 0).map((r) => r.window.name);
      // No version to report means no metric event: this line is what tells "no traffic" from "analyzer not running".
      if (empty.length > 0) {
        await log.write('mlmon.app', 'info', `windows ${empty.join(', ')} ending ${new Date(next).toISOString()}: no predictions, no metrics (insufficient data: 0 predictions)`, {});
      }
      ticks += 1;
      lastTick = new Date(next).toISOString();
      next += interval;
      await joiner.setNextTick(next);
    }
  };

  const loop = (async () => {
    let backoff = 1000;
    while (!abort.signal.aborted) {
      try {
        await pass();
        if (recheck?.until === Infinity) recheck.until = Date.now() + horizon;
        if (lastError) say('info', `Elasticsearch is back; caught up to ${lastTick}`);
        lastError = undefined;
        backoff = 1000;
        const wait = floorTick(Date.now()) + interval - Date.now();
        await sleep(Math.max(wait, 0), undefined, { signal: abort.signal }).catch(() => {});
      } catch (err) {
        const message = describeError(err);
        if (message !== lastError) say('warn', `pass failed, retrying (windows are computed once it succeeds): ${message}`);
        lastError = message;
        const from = (joiner.nextTick ?? Date.now()) - horizon;
        recheck = { from: Math.min(recheck?.from ?? from, from), until: Infinity };
        await sleep(backoff, undefined, { signal: abort.signal }).catch(() => {});
        backoff = Math.min(backoff * 2, interval);
      }
    }
  })();
  say('info', `analyzing ${prefix}-* every ${formatDuration(config.MLMON_ANALYZER_INTERVAL)} over ${config.MLMON_ANALYZER_WINDOWS.map((w) => w.name).join(', ')}; metrics to ${familyPattern(prefix, 'metrics')}`);

  return {
    log,
    status: () => ({ ticks, ...(lastTick ? { lastTick } : {}), ...(lastError ? { lastError } : {}) }),
    async stop() {
      abort.abort();
      await loop;
      await log.close();
      if (!opts.client) await client.close();
    },
  };
}

/** One window computed on demand (the CLI's `mlmon analyze`) in a single full pass, since its bounds are arbitrary: nothing is written. */
export async function analyzeOnce(
  config: AnalyzerConfig,
  window: { from: Date; to: Date; version?: string },
  opts: { client?: Client; reference?: Reference } = {},
): Promise<WindowReport> {
  // A full pass over a long window can take minutes; the default undici connection would cut every response at 30 s.
  const client = opts.client ?? createEsClient(config, { name: 'mlmon-analyzer-cli', requestTimeout: 600_000, Connection: HttpConnection });
  try {
    const reference = opts.reference ?? loadReference(config.MLMON_ANALYZER_REFERENCE_PROFILE);
    return await analyzeWindow(
      contextOf(config, client, reference),
      { start: window.from, end: window.to, name: 'adhoc' },
      window.version ? { version: window.version } : undefined,
    );
  } finally {
    if (!opts.client) await client.close();
  }
}

/** Elasticsearch's reason, not only its exception type, so the log says what to fix. */
function describeError(err: unknown): string {
  const e = err as Error & { meta?: { body?: { error?: { root_cause?: Array<{ reason?: string }>; reason?: string } } } };
  const body = e.meta?.body?.error;
  const reason = body?.root_cause?.[0]?.reason ?? body?.reason;
  return reason ? `${e.message}: ${reason}` : e.message;
}
