import autocannon from 'autocannon';
import { quantile } from 'simple-statistics';
import type { HoldoutRow } from './holdout.js';

export interface TrafficOptions {
  url: string;
  rows: HoldoutRow[];
  /** Requests per second, held by autocannon across all connections. */
  rate: number;
  seconds: number;
  /** Turns a holdout row into the features sent, e.g. shifted for a drift scenario. */
  transform?: (features: Record<string, number>) => Record<string, number>;
  /** Share of answered predictions that get ground truth, after `feedbackDelayMs`. */
  feedbackFraction?: number;
  feedbackDelayMs?: number;
  label?: string;
}

export interface TrafficTally {
  /** Requests that reached nginx: autocannon's, less those it wrote into connections nginx was closing. */
  sent: number;
  ok: number;
  /**
   * nginx closes a keep-alive connection after `keepalive_requests` (1,000) and says so
   * (`Connection: close`); autocannon ignores that and writes its next request into the closing
   * socket, where nginx never reads it. Each such close costs at most one request, never answered
   * and never an error: counted here, not as sent.
   */
  closedUnsent: number;
  byStatus: Map<string, number>;
  byReplica: Map<string, number>;
  latenciesMs: number[];
  feedbackSent: number;
  feedbackOk: number;
  /** Every answered prediction, for tests that follow a request through the logs or recompute a metric. */
  requests: Array<{ requestId: string; predictionId: string; replica: string; version: string; label: string; score: number; trueLabel?: string; row: HoldoutRow }>;
}

export const newTally = (): TrafficTally => ({
  sent: 0,
  ok: 0,
  closedUnsent: 0,
  byStatus: new Map(),
  byReplica: new Map(),
  latenciesMs: [],
  feedbackSent: 0,
  feedbackOk: 0,
  requests: [],
});

interface Ctx {
  row?: HoldoutRow;
  sentAt?: number;
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

/**
 * Sends holdout predictions at a fixed rate through autocannon and tallies
 * what came back, live: status, replica (X-Replica-Id), and feedback for a
 * share of the answers. A status line is printed every second.
 */
export async function runTraffic(o: TrafficOptions, tally: TrafficTally = newTally()): Promise<TrafficTally> {
  let next = 0;
  let serverCloses = 0;
  const pendingFeedback: Array<Promise<void>> = [];
  const sendFeedback = (predictionId: string, label: string) => {
    tally.feedbackSent += 1;
    const p = new Promise<void>((resolve) =>
      setTimeout(() => {
        fetch(`${o.url}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prediction_id: predictionId, true_label: label }) })
          .then((res) => (res.status === 202 ? (tally.feedbackOk += 1) : undefined), () => undefined)
          .finally(resolve);
      }, o.feedbackDelayMs ?? 2000),
    );
    pendingFeedback.push(p);
  };
  const connections = Math.max(2, Math.min(32, Math.ceil(o.rate / 25)));
  const started = Date.now();
  const progress = setInterval(() => {
    // Answered with anything but 200; what is neither ok nor an error is still in flight.
    const errors = [...tally.byStatus].reduce((n, [status, count]) => (status === '200' ? n : n + count), 0);
    const line = `sent ${tally.sent}  ok ${tally.ok}  errors ${errors}  in flight ${tally.sent - tally.ok - errors}  feedback ${tally.feedbackSent}`;
    process.stdout.write(`\r${o.label ?? 'traffic'}: ${Math.round((Date.now() - started) / 1000)}/${o.seconds}s  ${line}   `);
  }, 1000);
  const result = await autocannon({
    url: o.url,
    connections,
    overallRate: o.rate,
    // A count, not a duration: autocannon then waits for every answer instead of abandoning
    // the requests in flight at the deadline, so sent == answered + lost exactly.
    amount: Math.max(connections, Math.round(o.rate * o.seconds)),
    requests: [
      {
        method: 'POST',
        path: '/v1/predict',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req, context) => {
          const ctx = context as Ctx;
          const row = o.rows[next++ % o.rows.length]!;
          ctx.row = row;
          ctx.sentAt = performance.now();
          tally.sent += 1;
          return { ...req, body: JSON.stringify({ features: o.transform ? o.transform(row.features) : row.features }) };
        },
        onResponse: (status, body, context, headers) => {
          const ctx = context as Ctx;
          tally.latenciesMs.push(performance.now() - ctx.sentAt!);
          bump(tally.byStatus, String(status));
          // nginx keeps the case it was given (X-Request-ID); node lower-cases its own.
          const h = Object.fromEntries(Object.entries(headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
          if (h['x-replica-id']) bump(tally.byReplica, h['x-replica-id']);
          if (h.connection?.toLowerCase() === 'close') serverCloses += 1;
          if (status !== 200) return;
          tally.ok += 1;
          const answer = JSON.parse(body) as { prediction_id: string; model: { version: string }; label: string; probability: number };
          const feedback = Math.random() < (o.feedbackFraction ?? 0);
          tally.requests.push({
            requestId: h['x-request-id'] ?? '',
            predictionId: answer.prediction_id,
            replica: h['x-replica-id'] ?? '',
            version: answer.model.version,
            label: answer.label,
            score: answer.probability,
            ...(feedback ? { trueLabel: ctx.row!.label } : {}),
            row: ctx.row!,
          });
          if (feedback) sendFeedback(answer.prediction_id, ctx.row!.label);
        },
      },
    ],
  });
  clearInterval(progress);
  process.stdout.write('\n');
  // Requests autocannon gave up on (connection errors, timeouts) never reached onResponse.
  const lost = result.errors + result.timeouts;
  if (lost > 0) tally.byStatus.set('connection error', (tally.byStatus.get('connection error') ?? 0) + lost);
  const answered = [...tally.byStatus.values()].reduce((a, b) => a + b, 0);
  // Only as many as nginx closed connections: any other unanswered request still counts against the run.
  const unsent = Math.min(serverCloses, Math.max(0, tally.sent - answered));
  tally.sent -= unsent;
  tally.closedUnsent += unsent;
  await Promise.all(pendingFeedback);
  return tally;
}

export function summarize(t: TrafficTally): string {
  const answered = [...t.byReplica.values()].reduce((a, b) => a + b, 0) || 1;
  const errors = [...t.byStatus].filter(([s]) => s !== '200').map(([s, n]) => `${s}: ${n}`);
  const lat = t.latenciesMs.length ? t.latenciesMs : [0];
  return [
    `sent ${t.sent}, ok ${t.ok}, errors ${errors.length ? errors.join(', ') : 'none'}${t.closedUnsent ? ` (and ${t.closedUnsent} written by autocannon into connections nginx was closing, never received)` : ''}`,
    `latency p50 ${quantile(lat, 0.5).toFixed(1)} ms, p99 ${quantile(lat, 0.99).toFixed(1)} ms`,
    `per replica: ${[...t.byReplica].sort().map(([r, n]) => `${r} ${((100 * n) / answered).toFixed(1)}%`).join(', ')}`,
    `feedback sent ${t.feedbackSent}, accepted ${t.feedbackOk}`,
  ].join('\n');
}
