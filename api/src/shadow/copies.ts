import type { EventLog } from '@mlmon/runtime';
import type { ApiConfig } from '../config.js';
import type { LoadedModel, ModelRegistry } from '../models/registry.js';
import type { Privacy } from '../privacy.js';
import { BoundedQueue, type ShadowCounters } from './queue.js';

/** One request's copy: the rows the active version answered, its answers, and the ids the copy's lines carry. */
export interface ShadowJob {
  model: LoadedModel;
  rows: Array<Record<string, number>>;
  /** The shadow predictions' ids, one per row, already named on the active lines (`mlmon.prediction.shadow_id`). */
  ids: string[];
  requestId: string;
  context: Record<string, string> | undefined;
  active: {
    version: string;
    /** The active line's event.duration: each row's share of its batch. */
    duration: number;
    predictions: Array<{ id: string; label: string; score: number }>;
  };
}

export interface Shadow {
  /**
   * For a request the active version answered: the shadow version if one is set, this request falls in its
   * sample and a slot is free (then taken: submit or release it), else undefined.
   */
  take(): LoadedModel | undefined;
  submit(job: ShadowJob): void;
  release(): void;
  /** Undefined while no shadow was ever set, so a replica without one reports nothing. */
  counters(): ShadowCounters | undefined;
}

// Copies started together: the shadow's batched session answers them in one onnxruntime run.
const CONCURRENCY = 64;
// A failing shadow fails every copy; one line per this long says so without flooding the log.
const ERROR_LINE_EVERY_MS = 10_000;

/**
 * The shadow version's copies of live requests: after the active answer is
 * logged, a sampled request's rows go into a bounded queue (queue.ts) and are
 * predicted there by the shadow, whose lines are written like any prediction's
 * with role `shadow` and the active answer beside (`mlmon.shadow`). Nothing of
 * it reaches the client, and a shadow that throws, hangs or is slow only
 * costs copies, counted in the resource samples.
 */
export function createShadow(deps: { config: ApiConfig; registry: ModelRegistry; log: EventLog; privacy: Privacy }): Shadow {
  const { config, registry, log, privacy } = deps;
  let used = false;
  let failedSinceLine = 0;
  let lastLine = 0;
  const queue = new BoundedQueue<ShadowJob>({
    capacity: config.MLMON_API_SHADOW_QUEUE_SIZE,
    concurrency: CONCURRENCY,
    timeoutMs: config.MLMON_API_SHADOW_TIMEOUT,
    run: (job, signal) => runCopy(job, signal),
    onError: (err) => {
      failedSinceLine += 1;
      if (Date.now() - lastLine < ERROR_LINE_EVERY_MS) return;
      lastLine = Date.now();
      void log.write('mlmon.app', 'warn', `shadow copies failed: ${failedSinceLine} since the last such line; the last one: ${err.message}`, {
        error: { code: 'shadow_failed', message: err.message, type: err.constructor.name || err.name },
      });
      failedSinceLine = 0;
    },
  });

  async function runCopy(job: ShadowJob, signal: AbortSignal): Promise<void> {
    const started = process.hrtime.bigint();
    const { model } = job;
    const rows = job.rows.map((row) => {
      // The shadow may be a version with other features: it refuses the row, and the copy fails, not the request.
      const checked = model.inputSchema.safeParse(row);
      if (!checked.success) throw new Error(`shadow ${model.card.version} refuses the active version's rows: ${checked.error.issues[0]!.message}`);
      return checked.data;
    });
    const results = await registry.predict(model, rows);
    // A copy past its timeout was given up: its answer would describe a pair nobody counts any more.
    if (signal.aborted) return;
    const batchDuration = Number(process.hrtime.bigint() - started);
    const duration = Math.round(batchDuration / results.length);
    const loggedModel = { name: model.card.name, version: model.card.version, role: 'shadow' as const };
    const batch = { size: results.length, duration_ns: batchDuration };
    await Promise.all(
      results.map((r, i) => {
        const a = job.active.predictions[i]!;
        // Every part was validated by the active path or the check above, or made here from the model's checked output.
        return log.writePrevalidated('mlmon.prediction', 'info', 'shadow prediction', {
          event: { duration },
          http: { request: { id: job.requestId } },
          mlmon: {
            model: loggedModel,
            prediction: { id: job.ids[i]!, label: r.label, score: r.score, features: privacy.features(rows[i]!), batch, ...(job.context ? { context: job.context } : {}) },
            shadow: {
              active: { prediction_id: a.id, version: job.active.version, label: a.label, score: a.score, duration_ns: job.active.duration },
              agree: r.label === a.label,
              score_diff: r.score - a.score,
              latency_diff_ns: duration - job.active.duration,
            },
          },
        });
      }),
    );
  }

  return {
    take() {
      const shadow = registry.shadow();
      if (!shadow || Math.random() >= shadow.sample) return undefined;
      used = true;
      return queue.reserve() ? shadow.model : undefined;
    },
    submit: (job) => queue.submit(job),
    release: () => queue.release(),
    counters: () => (used ? queue.counters() : undefined),
  };
}
