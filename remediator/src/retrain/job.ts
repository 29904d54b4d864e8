import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@elastic/elasticsearch';
import { formatDuration, type EventLog } from '@mlmon/runtime';
import type { RemediatorConfig } from '../config.js';
import type { ModelAdmin } from '../models.js';
import type { AlertPayload } from '../payload.js';
import type { RetrainStarter } from '../remediator.js';
import { pullLabeledData } from './data.js';
import { run, trainingPython } from './python.js';

const MODEL_SOURCE_DIR = fileURLToPath(new URL('../../../model/', import.meta.url));

type Report = Parameters<RetrainStarter['start']>[1];

interface TrainSummary {
  version: string;
  holdout_metrics: Record<string, number>;
  training_data_sha256: string;
  n_train: number;
  dir: string;
}

/**
 * The retrain job: recent labeled production data from Elasticsearch, a new
 * version trained by model/train.py with the data's lineage in its card,
 * evaluated on the committed holdout, and registered as a canary at a small
 * weight only if it is no worse than the active version there. Every stage is
 * a remediation event with the job's id; progress lines go to the app log.
 */
export class RetrainJob implements RetrainStarter {
  private current: string | undefined;
  /** The job's promise, for tests and shutdown. */
  last: Promise<void> = Promise.resolve();

  constructor(
    private readonly o: { config: RemediatorConfig; client: Client; models: ModelAdmin; log: EventLog },
  ) {}

  running(): string | undefined {
    return this.current;
  }

  start(alert: AlertPayload, report: Report): { jobId: string; detail: string } {
    const { config } = this.o;
    const now = new Date();
    const jobId = `retrain-${now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').toLowerCase()}`;
    this.current = jobId;
    this.last = this.run(jobId, now, alert, report).finally(() => (this.current = undefined));
    return { jobId, detail: `job ${jobId}: up to ${config.MLMON_RETRAIN_MAX_ROWS} labeled rows from the last ${formatDuration(config.MLMON_RETRAIN_WINDOW)}, then model/train.py --from-data` };
  }

  private progress(jobId: string, message: string): void {
    void this.o.log.write('mlmon.app', 'info', `${jobId}: ${message}`, {});
  }

  private async run(jobId: string, now: Date, alert: AlertPayload, report: Report): Promise<void> {
    const { config, client, models } = this.o;
    const target = alert.target ?? 'model';
    const stage = (decision: 'finished' | 'registered' | 'refused' | 'failed', detail: string, extra: { reason?: string; version?: { before?: string; after?: string } } = {}) =>
      report({ decision, target, detail, job_id: jobId, ...extra });
    try {
      const holdout = JSON.parse(readFileSync(config.MLMON_RETRAIN_HOLDOUT_FILE, 'utf8')) as { feature_names: string[]; class_labels: string[] };
      const start = new Date(now.getTime() - config.MLMON_RETRAIN_WINDOW);
      const data = await pullLabeledData(client, {
        prefix: config.MLMON_INDEX_PREFIX,
        start,
        end: now,
        maxRows: config.MLMON_RETRAIN_MAX_ROWS,
        featureNames: holdout.feature_names,
        classLabels: holdout.class_labels,
        progress: (m) => this.progress(jobId, m),
      });
      if (data.rows.length < config.MLMON_RETRAIN_MIN_ROWS) {
        await stage('refused', `${data.rows.length} usable labeled rows in the last ${formatDuration(config.MLMON_RETRAIN_WINDOW)}; at least ${config.MLMON_RETRAIN_MIN_ROWS} are needed (MLMON_RETRAIN_MIN_ROWS)`, { reason: 'not_enough_data' });
        return;
      }
      const [serving, versions] = await Promise.all([models.serving(), models.versions()]);
      const active = versions.find((v) => v.version === serving.active);
      const workDir = path.join(config.MLMON_RETRAIN_WORK_DIR, jobId);
      mkdirSync(workDir, { recursive: true });
      mkdirSync(config.MLMON_RETRAIN_OUTPUT_DIR, { recursive: true });
      const dataFile = path.join(workDir, 'data.json');
      const lineage = { job_id: jobId, source: data.source, window: data.window, labeled_read: data.labeled, rows: data.rows.length, max_rows: config.MLMON_RETRAIN_MAX_ROWS, parent_version: serving.active, alert: { watch_id: alert.watch_id, execution_id: alert.execution_id } };
      writeFileSync(dataFile, JSON.stringify({ feature_names: holdout.feature_names, class_labels: holdout.class_labels, lineage, rows: data.rows }));
      const python = await trainingPython({ configured: config.MLMON_RETRAIN_PYTHON, modelDir: MODEL_SOURCE_DIR, progress: (m) => this.progress(jobId, m) });
      // The active version's recipe, retrained on what production saw.
      const algorithm = /Gradient/i.test(active?.algorithm ?? '') ? 'gbt' : 'logreg';
      const lines = await run(
        python,
        [path.join(MODEL_SOURCE_DIR, 'train.py'), '--from-data', dataFile, '--version', jobId, '--out-dir', path.join(config.MLMON_RETRAIN_OUTPUT_DIR, jobId), '--holdout', config.MLMON_RETRAIN_HOLDOUT_FILE, '--algorithm', algorithm],
        (l) => this.progress(jobId, l),
      );
      const summary = JSON.parse(lines.filter((l) => l.startsWith('{')).at(-1) ?? 'null') as TrainSummary | null;
      if (!summary) throw new Error('model/train.py printed no summary');
      const accuracy = summary.holdout_metrics.accuracy!;
      const baseline = active?.holdout_metrics?.accuracy;
      await stage(
        'finished',
        `trained ${jobId} (${algorithm}) on ${summary.n_train} rows from ${data.window.start} to ${data.window.end}, training data sha256 ${summary.training_data_sha256}; holdout accuracy ${accuracy.toFixed(4)} vs active ${serving.active} ${baseline?.toFixed(4) ?? 'unknown'}`,
        { version: { before: serving.active, after: jobId } },
      );
      if (baseline === undefined || accuracy < baseline - config.MLMON_RETRAIN_TOLERANCE) {
        await stage('refused', `${jobId} holdout accuracy ${accuracy.toFixed(4)} is below active ${serving.active} ${baseline?.toFixed(4) ?? '(unknown)'} minus tolerance ${config.MLMON_RETRAIN_TOLERANCE}; not registered`, {
          reason: 'worse_than_active',
          version: { before: serving.active, after: jobId },
        });
        return;
      }
      await models.setCanary(jobId, config.MLMON_RETRAIN_CANARY_WEIGHT);
      await stage('registered', `${jobId} registered as canary at ${config.MLMON_RETRAIN_CANARY_WEIGHT}% beside active ${serving.active}`, { version: { before: serving.active, after: jobId } });
    } catch (err) {
      await stage('failed', (err as Error).message, { reason: 'retrain_failed' });
    }
  }
}
