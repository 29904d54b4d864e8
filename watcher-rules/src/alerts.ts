import { LOG_BASENAMES } from '@mlmon/contract';
import { createEventLog, type EventLog } from '@mlmon/runtime';
import { REFERENCE } from './load.js';
import { javaString } from './watcher/compare.js';
import { numeric, observedValue, renderTarget, type Execution } from './watcher/execute.js';

export function createRunnerLog(o: { dir: string; node: string; stdout?: boolean }): EventLog {
  return createEventLog({ service: 'mlmon-rule-runner', node: o.node, dir: o.dir, basename: LOG_BASENAMES.ruleRunner, maxBytes: 10 * 1024 * 1024, maxFiles: 3, stdout: o.stdout ?? false });
}

/** The numbers an alert reports for an execution: the observed value and the threshold it was held to. */
export function alertFigures(e: Execution): { value?: number; threshold?: number; observed: unknown } {
  const observed = observedValue(e);
  const value = numeric(observed);
  // The rule's threshold as configured; a condition such as `hits.total gt 0` compares with a constant that is not it.
  // A reference threshold is not a number in the watch: the condition compared with the document's, which is it.
  const threshold = numeric(e.ctx.metadata.threshold) ?? numeric(e.condition?.threshold);
  return { observed, ...(value === undefined ? {} : { value }), ...(threshold === undefined ? {} : { threshold }) };
}

/** One mlmon.alert line per firing, for the shipper to index beside the remediator's events. */
export async function writeAlert(log: EventLog, e: Execution): Promise<void> {
  const m = e.ctx.metadata;
  const { value, threshold, observed } = alertFigures(e);
  const target = renderTarget(e);
  const held = m.threshold === REFERENCE ? `reference threshold ${threshold ?? 'missing'}` : `threshold ${javaString(m.threshold)}`;
  const message = `${m.name}: ${javaString(observed)} ${m.unit} (${held})${target ? ` on ${target}` : ''}`;
  await log.write('mlmon.alert', m.severity === 'critical' ? 'error' : m.severity === 'warning' ? 'warn' : 'info', message, {
    mlmon: {
      alert: {
        id: e.record.id,
        rule: e.record.watch_id,
        severity: m.severity,
        state: 'firing',
        ...(value === undefined ? {} : { value }),
        ...(threshold === undefined ? {} : { threshold }),
        ...(m.remediation ? { action: m.remediation } : {}),
        window: m.window,
        ...(target ? { target } : {}),
        runbook: m.runbook,
        scheduled_time: new Date(e.ctx.trigger.scheduled_time.ms).toISOString(),
        actions: e.record.result.actions.map((a) => ({ id: a.id, type: a.type, status: a.status, ...(a.reason ? { reason: a.reason } : {}) })),
      },
    },
  });
}
