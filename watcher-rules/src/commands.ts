import { createEsClient } from '@mlmon/runtime';
import { ackWatch } from './ack.js';
import { withAlertmanager } from './alertmanager.js';
import { deploymentOf, type RunnerConfig } from './config.js';
import { dryRun, type TickResult } from './dry-run.js';
import { checkWatcher, installWatches, watcherId, watcherStates } from './installer.js';
import { loadWatches, type LoadedWatch } from './load.js';
import { StateStore } from './state.js';
import { javaString } from './watcher/compare.js';

/**
 * What `mlmon rules …` does, as functions that return the lines to print, so
 * the CLI stays a thin commander layer and tests call them directly.
 */
const load = (config: RunnerConfig) => loadWatches({ dir: config.MLMON_RULES_DIR, deployment: deploymentOf(config) });

function findWatch(watches: LoadedWatch[], id: string): LoadedWatch {
  const w = watches.find((x) => x.id === id);
  if (!w) throw new Error(`no rule "${id}"; rules: ${watches.map((x) => x.id).join(', ')}`);
  return w;
}

export async function rulesInstall(config: RunnerConfig): Promise<string[]> {
  const watches = load(config);
  const client = createEsClient(config, { name: 'mlmon-rules-install' });
  try {
    const check = await checkWatcher(client);
    if (!check.available) {
      return [
        `${check.reason}: nothing installed.`,
        `The rule runner executes the ${watches.length} rules on this cluster instead (\`mlmon up\` starts it; \`mlmon rules run\` runs it alone).`,
      ];
    }
    const url = config.MLMON_ALERTMANAGER_URL;
    const r = await installWatches(client, url ? watches.map((w) => withAlertmanager(w, url)) : watches, config.MLMON_INDEX_PREFIX);
    return [
      check.reason,
      `watches: ${r.created.length} created, ${r.updated.length} updated, ${r.unchanged.length} unchanged, ${r.deleted.length} deleted`,
      ...r.created.map((id) => `  created ${id}`),
      ...r.updated.map((id) => `  updated ${id}`),
      ...r.deleted.map((id) => `  deleted ${id} (no longer defined)`),
    ];
  } finally {
    await client.close();
  }
}

export interface RuleRow {
  id: string;
  severity: string;
  remediation: string;
  runs_on: 'watcher' | 'runner';
  last_execution?: string;
  state: string;
}

export async function rulesList(config: RunnerConfig): Promise<{ rows: RuleRow[]; lines: string[] }> {
  const watches = load(config);
  const client = createEsClient(config, { name: 'mlmon-rules-list' });
  try {
    const check = await checkWatcher(client);
    let rows: RuleRow[];
    if (check.available) {
      const states = new Map((await watcherStates(client, watches, config.MLMON_INDEX_PREFIX)).map((s) => [s.id, s]));
      rows = watches.map((w) => {
        const s = states.get(w.id)!;
        return {
          id: w.id,
          severity: w.body.metadata.severity,
          remediation: w.body.metadata.remediation ?? '-',
          runs_on: 'watcher' as const,
          ...(s.lastChecked ? { last_execution: s.lastChecked } : {}),
          state: s.installed ? Object.entries(s.actions).map(([a, st]) => `${a}:${st}`).join(' ') || 'installed' : `not installed (${watcherId(config.MLMON_INDEX_PREFIX, w.id)})`,
        };
      });
    } else {
      const store = new StateStore(client, config.MLMON_INDEX_PREFIX);
      const [records, states] = await Promise.all([store.lastRecords(), store.all()]);
      const status = new Map(states.map((s) => [s.watch_id, s.status]));
      rows = watches.map((w) => {
        const r = records.get(w.id);
        const acks = Object.entries(status.get(w.id)?.actions ?? {}).map(([a, s]) => `${a}:${s.ack.state}`);
        return {
          id: w.id,
          severity: w.body.metadata.severity,
          remediation: w.body.metadata.remediation ?? '-',
          runs_on: 'runner' as const,
          ...(r ? { last_execution: r.result.execution_time } : {}),
          state: r ? [r.state, ...acks].join(' ') : 'never executed',
        };
      });
    }
    const width = Math.max(...rows.map((r) => r.id.length));
    const lines = [
      check.available ? `rules run in Watcher (${check.reason})` : `rules run in the mlmon rule runner (${check.reason})`,
      ...rows.map((r) => `  ${r.id.padEnd(width)}  ${r.severity.padEnd(8)} ${r.remediation.padEnd(9)} ${r.runs_on.padEnd(7)} ${(r.last_execution ?? '-').padEnd(24)} ${r.state}`),
    ];
    return { rows, lines };
  } finally {
    await client.close();
  }
}

export async function rulesTest(config: RunnerConfig, id: string, o: { from?: string; to?: string }): Promise<TickResult[]> {
  const w = findWatch(load(config), id);
  const parse = (v: string, name: string) => {
    const t = Date.parse(v);
    if (Number.isNaN(t)) throw new Error(`--${name}: not an ISO date-time: ${v}`);
    return t;
  };
  const to = o.to ? parse(o.to, 'to') : Date.now();
  const from = o.from ? parse(o.from, 'from') : to - 3_600_000;
  if (from > to) throw new Error('--from is after --to');
  const client = createEsClient(config, { name: 'mlmon-rules-test' });
  try {
    return await dryRun(client, w, { from, to });
  } finally {
    await client.close();
  }
}

export function formatTicks(w: { id: string }, ticks: TickResult[]): string[] {
  const fired = ticks.filter((t) => t.would_fire).length;
  return [
    ...ticks.map(
      (t) =>
        `${t.scheduled_time}  ${t.would_fire ? 'FIRE' : t.met ? 'met ' : '-   '}  observed ${javaString(t.observed)}  threshold ${t.threshold ?? '-'}${t.target ? `  target ${t.target}` : ''}${t.error ? `  error: ${t.error}` : ''}`,
    ),
    `${w.id}: ${ticks.length} ticks, would have fired on ${fired}`,
  ];
}

export async function rulesAck(config: RunnerConfig, id: string, actions: string[]): Promise<string> {
  const w = findWatch(load(config), id);
  const unknown = actions.filter((a) => !(a in w.body.actions));
  if (unknown.length) throw new Error(`rule ${id} has no action ${unknown.join(', ')}; its actions: ${Object.keys(w.body.actions).join(', ')}`);
  const client = createEsClient(config, { name: 'mlmon-rules-ack' });
  try {
    if ((await checkWatcher(client)).available) {
      await client.watcher.ackWatch({ watch_id: watcherId(config.MLMON_INDEX_PREFIX, id), ...(actions.length ? { action_id: actions } : {}) });
      return `acknowledged ${id} in Watcher${actions.length ? ` (${actions.join(', ')})` : ''}`;
    }
    const changed = await ackWatch(new StateStore(client, config.MLMON_INDEX_PREFIX), id, actions.length ? actions : undefined);
    return changed.length
      ? `acknowledged ${id}: ${changed.join(', ')} silent until the condition is false again`
      : `nothing to acknowledge on ${id}: no action has run since its condition last became true`;
  } finally {
    await client.close();
  }
}
