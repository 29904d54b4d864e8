import type { Command } from 'commander';
import { analyzeOnce, loadAnalyzerConfig, type GroupReport, type WindowReport } from '@mlmon/analyzer';

const time = (flag: string) => (v: string) => {
  const t = new Date(v);
  if (Number.isNaN(t.getTime())) throw new Error(`${flag}: not an ISO time: ${v}`);
  return t;
};

const fmt = (v: number | undefined, digits = 4) => (v === undefined ? '-' : v.toFixed(digits));
/** A judged figure: `!` marks a value outside the thresholds of its reference. */
const mark = (text: string, alert: boolean | undefined) => (alert ? `${text}!` : text);
const band = (lo: number | undefined, hi: number | undefined, digits = 3) => `[${fmt(lo, digits)}, ${fmt(hi, digits)}]`;

/** What a group's judgments say, for people: each verdict outside its reference thresholds, with them. */
function verdicts(g: GroupReport): string[] {
  const q = g.quality;
  const d = g.drift.summary;
  const dq = g.data_quality.summary;
  const out: string[] = [];
  for (const m of ['accuracy', 'precision', 'recall', 'f1', 'roc_auc'] as const) {
    const k = `estimated_${m}` as const;
    if (q[`${k}_alert`]) out.push(`${k} ${fmt(q[k])} outside ${band(q[`${k}_threshold_lower`], q[`${k}_threshold_upper`])}`);
  }
  if (d.reconstruction_error_alert) out.push(`reconstruction_error ${fmt(d.reconstruction_error, 3)} outside ${band(d.reconstruction_error_threshold_lower, d.reconstruction_error_threshold_upper)}`);
  if (d.drifted_share_alert) out.push(`drifted_share ${fmt(d.drifted_share, 3)} > ${fmt(d.drifted_share_threshold, 3)} (${g.drift.features.filter((f) => f.drifted).map((f) => f.feature).join(', ')})`);
  if (dq.ood_rate_alert) out.push(`ood_rate ${fmt(dq.ood_rate)} > ${fmt(dq.ood_rate_threshold_upper)}`);
  return out;
}

/** Columns padded to their widest cell. */
function grid(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

/** Each shadow against the active version it shadowed, on the same requests (the JSON's quality.paired). */
function shadowTable(report: WindowReport): string[] {
  const alpha = report.versions.find((g) => g.quality.paired)?.quality.paired?.alpha;
  const rows = report.versions.flatMap((g) => {
    const p = g.quality.paired;
    if (!p) return [];
    const verdict = p.significantly_better ? 'BETTER' : p.significantly_worse ? 'WORSE' : p.discordant < p.min_discordant ? `too few discordant (<${p.min_discordant})` : 'no difference';
    return [
      [
        `${g.model.version} vs ${p.active_version}`,
        String(p.pairs),
        fmt(p.agreement),
        String(p.labeled_pairs),
        fmt(p.active_accuracy),
        fmt(p.shadow_accuracy),
        String(p.active_only_correct),
        String(p.shadow_only_correct),
        p.mcnemar_p_value === undefined ? '-' : p.mcnemar_p_value.toPrecision(3),
        fmt(p.score_diff_mean),
        fmt(p.latency_diff_p50_ms, 2),
        fmt(p.latency_diff_p99_ms, 2),
        verdict,
      ],
    ];
  });
  if (rows.length === 0) return [];
  const head = ['shadow', 'pairs', 'agreement', 'labeled', 'active_acc', 'shadow_acc', 'active_only', 'shadow_only', 'mcnemar_p', 'score_diff', 'lat_p50_ms', 'lat_p99_ms', `verdict (alpha ${alpha})`];
  return ['', grid(head, rows), '  (active_only/shadow_only: labeled requests only that version got right; lat_*: shadow minus active latency, ms)'];
}

function table(report: WindowReport): string {
  const rows = report.versions.map((g: GroupReport) => {
    const q = g.quality;
    const top = g.drift.summary;
    return [
      `${g.model.version} (${g.model.role})`,
      String(q.count),
      String(q.labeled),
      fmt(q.accuracy),
      q.estimated_accuracy === undefined ? '-' : mark(`${fmt(q.estimated_accuracy)} ${band(q.estimated_accuracy_lower, q.estimated_accuracy_upper)}`, q.estimated_accuracy_alert),
      fmt(q.f1),
      fmt(q.roc_auc),
      fmt(q.log_loss),
      fmt(q.avg_score),
      top.sufficient ? mark(`${top.drifted_count}/${top.features}`, top.drifted_share_alert) : '-',
      top.max_psi_feature ? `${top.max_psi_feature} ${fmt(top.max_psi, 3)}` : '-',
      mark(fmt(top.reconstruction_error, 3), top.reconstruction_error_alert),
      mark(fmt(g.data_quality.summary.ood_rate), g.data_quality.summary.ood_rate_alert),
    ];
  });
  const head = ['version', 'count', 'labeled', 'accuracy', 'est_acc [band]', 'f1', 'roc_auc', 'log_loss', 'avg_score', 'drifted', 'max psi', 'recon_err', 'ood_rate'];
  const notes = report.versions.flatMap((g) => g.notes.map((n) => `  ${g.model.version} (${g.model.role}): ${n}`));
  const alerts = report.versions.flatMap((g) => verdicts(g).map((v) => `  ${g.model.version} (${g.model.role}): ALERT ${v}`));
  const canaries = report.versions
    .filter((g) => g.quality.vs_active)
    .map((g) => {
      const v = g.quality.vs_active!;
      return `  canary ${g.model.version} vs ${v.active_version}: accuracy diff ${fmt(v.accuracy_diff)} [${fmt(v.accuracy_diff_low)}, ${fmt(v.accuracy_diff_high)}], p ${fmt(v.p_value)}${v.significantly_worse ? ', SIGNIFICANTLY WORSE' : ''}`;
    });
  return [
    `window ${report.window.start} to ${report.window.end}`,
    report.versions.length === 0 ? 'no predictions in this window' : grid(head, rows),
    ...(report.versions.length > 0 ? ['  (est_acc: CBPE, the accuracy estimated without labels, ± 3 standard errors; ! = outside the reference thresholds)'] : []),
    ...alerts,
    ...canaries,
    ...shadowTable(report),
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
