import type { Command } from 'commander';
import { formatTicks, loadRunnerConfig, rulesAck, rulesInstall, rulesList, rulesTest, startRunner } from '@mlmon/watcher-rules';

/** `mlmon rules …`: the alert rules (watcher-rules/README.md). */
export function registerRulesCommands(program: Command): void {
  const rules = program.command('rules').description('alert rules: install into Watcher, list, run, replay, acknowledge');

  rules
    .command('install')
    .description('put every rule into Watcher when the cluster has it (idempotent; removes rules no longer defined)')
    .action(async () => {
      for (const line of await rulesInstall(loadRunnerConfig())) console.log(line);
    });

  rules
    .command('list')
    .description('each rule, where it runs, its last execution and state')
    .option('--json', 'one JSON document')
    .action(async (opts: { json?: boolean }) => {
      const { rows, lines } = await rulesList(loadRunnerConfig());
      console.log(opts.json ? JSON.stringify(rows, null, 2) : lines.join('\n'));
    });

  rules
    .command('run')
    .description('run the rule runner in the foreground (mlmon up runs it in the background)')
    .action(async () => {
      const runner = await startRunner(loadRunnerConfig());
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await runner.stop();
    });

  rules
    .command('test <id>')
    .description('replay a rule tick by tick over past data: observed value, threshold, whether it would have fired (no action runs)')
    .option('--from <iso>', 'first tick (default: an hour before --to)')
    .option('--to <iso>', 'last tick (default: now)')
    .option('--json', 'one JSON object per tick')
    .action(async (id: string, opts: { from?: string; to?: string; json?: boolean }) => {
      const ticks = await rulesTest(loadRunnerConfig(), id, opts);
      if (opts.json) for (const t of ticks) console.log(JSON.stringify(t));
      else console.log(formatTicks({ id }, ticks).join('\n'));
    });

  rules
    .command('ack <id> [actions...]')
    .description('acknowledge a rule (all its actions, or those named): silent until its condition is false again')
    .action(async (id: string, actions: string[]) => {
      console.log(await rulesAck(loadRunnerConfig(), id, actions));
    });
}
