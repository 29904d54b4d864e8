import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { REMEDIATION_ACTIONS, REMEDIATION_DECISIONS } from '@mlmon/contract';
import { writeFileAtomic } from '@mlmon/runtime';
import type { Recommendation } from './stabilization.js';

export const decisionRecord = z.object({
  at: z.iso.datetime(),
  action: z.enum(REMEDIATION_ACTIONS),
  decision: z.enum(REMEDIATION_DECISIONS),
  target: z.string(),
  reason: z.string().optional(),
  detail: z.string(),
  execution_id: z.string(),
  watch_id: z.string(),
  dry_run: z.boolean(),
  replicas: z.object({ before: z.number().int(), after: z.number().int() }).optional(),
  version: z.object({ before: z.string().optional(), after: z.string().optional() }).optional(),
  job_id: z.string().optional(),
});
export type DecisionRecord = z.infer<typeof decisionRecord>;

const stateFile = z.object({
  executions: z.record(z.string(), z.object({ decision: z.enum(REMEDIATION_DECISIONS), at: z.iso.datetime() })),
  acted: z.array(decisionRecord),
  recent: z.array(decisionRecord),
  // Absent from a state file written before scale-in stabilization: no history yet.
  recommendations: z.array(z.object({ at: z.iso.datetime(), target: z.string(), desired: z.number().int() })).default([]),
});
type StateData = z.infer<typeof stateFile>;

/** Decisions that count as acting, for cooldowns, the hourly limit and flapping: a dry run counts so that it shows what a live run would do. */
export const ACTING: ReadonlySet<DecisionRecord['decision']> = new Set(['executed', 'dry_run', 'started']);
const RECENT = 200;
const HOUR_MS = 3_600_000;

/**
 * What the remediator must remember across restarts: which alert executions
 * it has answered (idempotency), and its recent actions (cooldowns, the hourly
 * limit, flapping). Small, so it is one JSON file rewritten atomically after
 * every decision; decisions are serialized by the caller.
 */
export class RemediatorState {
  private constructor(
    private readonly file: string,
    private data: StateData,
    private readonly keepMs: { executions: number; acted: number },
  ) {}

  static load(file: string, keepMs: { executions: number; acted: number }): RemediatorState {
    mkdirSync(path.dirname(file), { recursive: true });
    let data: StateData = { executions: {}, acted: [], recent: [], recommendations: [] };
    if (existsSync(file)) {
      const parsed = stateFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (!parsed.success) {
        // Starting with an empty memory would forget cooldowns and replay alerts: stop and say which file.
        throw new Error(`remediator state ${file} is not valid (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}); fix or move it`);
      }
      data = parsed.data;
    }
    return new RemediatorState(file, data, { executions: keepMs.executions, acted: Math.max(keepMs.acted, HOUR_MS) });
  }

  /** The earlier decision about this alert execution, if any. */
  seen(executionId: string): { decision: DecisionRecord['decision']; at: string } | undefined {
    return this.data.executions[executionId];
  }

  /** Acting decisions since `sinceMs`, newest last. */
  actedSince(sinceMs: number): DecisionRecord[] {
    return this.data.acted.filter((d) => Date.parse(d.at) >= sinceMs);
  }

  /** The scale recommendations remembered (at least the last hour, the longest stabilization window), oldest first. */
  recommendations(): readonly Recommendation[] {
    return this.data.recommendations;
  }

  /** Remembered with the next decision's write: a recommendation always comes with one. */
  recommend(r: Recommendation): void {
    this.data.recommendations.push(r);
  }

  recent(limit = RECENT): DecisionRecord[] {
    return this.data.recent.slice(-limit).reverse();
  }

  /**
   * `answers` says the decision is the answer to the webhook call, remembered
   * for deduplication; a duplicate and a retrain job's later stages are not.
   */
  async record(d: DecisionRecord, opts: { answers: boolean }, now = Date.now()): Promise<void> {
    if (opts.answers) this.data.executions[d.execution_id] = { decision: d.decision, at: d.at };
    if (ACTING.has(d.decision)) this.data.acted.push(d);
    this.data.recent.push(d);
    this.prune(now);
    await writeFileAtomic(this.file, JSON.stringify(this.data));
  }

  private prune(now: number): void {
    const executions = Object.entries(this.data.executions).filter(([, e]) => now - Date.parse(e.at) < this.keepMs.executions);
    this.data.executions = Object.fromEntries(executions);
    this.data.acted = this.data.acted.filter((d) => now - Date.parse(d.at) < this.keepMs.acted);
    this.data.recommendations = this.data.recommendations.filter((r) => now - Date.parse(r.at) < this.keepMs.acted);
    this.data.recent = this.data.recent.slice(-RECENT);
  }
}
