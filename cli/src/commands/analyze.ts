import type { Command } from 'commander';
import { analyzeOnce, loadAnalyzerConfig, type GroupReport, type WindowReport } from '@mlmon/analyzer';

const time = (flag: string) => (v: string) => {
  const t = new Date(v);
  if (Number.isNaN(t.getTime())) throw new Error(`${flag}: not an ISO time: ${v}`);
  return t;
};

const fmt = (v: number | undefined, digits = 4) => (v === undefined ? '-' : v.toFixed(digits));

function table(report: WindowReport): string {
  const rows = report.versions.map((g: GroupReport) => {
    const q = g.quality;
    const top = g.drift.summary;
    return [
      `${g.model.version} (${g.model.role})`,
      String(q.count),
      String(q.labeled),
      fmt(q.accuracy),
      fmt(q.f1),
      fmt(q.roc_auc),
      fmt(q.log_loss),
      fmt(q.avg_score),
      fmt(q.estimated_accuracy),
      top.sufficient ? `${top.drifted_count}/${top.features}` : '-',
      top.max_psi_feature ? `${top.max_psi_feature} ${fmt(top.max_psi, 3)}` : '-',
      fmt(g.data_quality.summary.ood_rate),
    ];
  });
  const head = ['version', 'count', 'labeled', 'accuracy', 'f1', 'roc_auc', 'log_loss', 'avg_score', 'est_acc', 'drifted', 'max psi', 'ood_rate'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const notes = report.versions.flatMap((g) => g.notes.map((n) => `  ${g.model.version} (${g.model.role}): ${n}`));
  const canaries = report.versions
    .filter((g) => g.quality.vs_active)
    .map((g) => {
      const v = g.quality.vs_active!;
      return `  canary ${g.model.version} vs ${v.active_version}: accuracy diff ${fmt(v.accuracy_diff)} [${fmt(v.accuracy_diff_low)}, ${fmt(v.accuracy_diff_high)}], p ${fmt(v.p_value)}${v.significantly_worse ? ', SIGNIFICANTLY WORSE' : ''}`;
    });
  return [
    `window ${report.window.start} to ${report.window.end}`,
    report.versions.length === 0 ? 'no predictions in this window' : [line(head), ...rows.map(line)].join('\n'),
    ...canaries,
    ...notes,
  ].join('\n');
}

export function registerAnalyzeCommand(program: Command): void {
  program
    .command('analyze')
    .description('quality, drift and data quality of every model version over one window [from, to)')
    .requiredOption('--from <time>', 'window start, ISO time', time('--from'))
    .option('--to <time>', 'window end, ISO time (default: now)', time('--to'))
    .option('--model-version <version>', 'only this version')
    .option('--json', 'one JSON document instead of a table')
    .action(async (o: { from: Date; to?: Date; modelVersion?: string; json?: boolean }) => {
      const to = o.to ?? new Date();
      if (to <= o.from) throw new Error('--to must be after --from');
      const report = await analyzeOnce(loadAnalyzerConfig(), { from: o.from, to, ...(o.modelVersion ? { version: o.modelVersion } : {}) });
      console.log(o.json ? JSON.stringify(report, null, 2) : table(report));
    });
}
