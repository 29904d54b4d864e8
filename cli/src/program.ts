import { Command } from 'commander';
import { registerAlertsCommands } from './commands/alerts-commands.js';
import { registerAnalyzeCommand } from './commands/analyze.js';
import { registerDataCommands } from './commands/data-commands.js';
import { registerDeployCommands } from './commands/deploy-commands.js';
import { registerKibanaCommands } from './commands/kibana-commands.js';
import { registerModelCommands } from './commands/model-commands.js';
import { registerRulesCommands } from './commands/rules-commands.js';
import { registerStackCommands } from './commands/stack-commands.js';
import { registerTroubleshootCommands } from './commands/troubleshoot-commands.js';

/**
 * Every `mlmon` command, unparsed. `configure` runs first, so that settings
 * subcommands inherit when they are created (exitOverride, output) reach all
 * of them: the runbook test parses the documented commands this way without
 * running one.
 */
export function buildProgram(configure: (program: Command) => void = () => undefined): Command {
  const program = new Command('mlmon').description('log-centric monitoring for deployed ML models');
  configure(program);
  registerStackCommands(program);
  registerDataCommands(program);
  registerAnalyzeCommand(program);
  registerModelCommands(program);
  registerDeployCommands(program);
  registerRulesCommands(program);
  registerAlertsCommands(program);
  registerTroubleshootCommands(program);
  registerKibanaCommands(program);
  return program;
}
