import { Command } from 'commander';
import { registerAnalyzeCommand } from './commands/analyze.js';
import { registerDataCommands } from './commands/data-commands.js';
import { registerDeployCommands } from './commands/deploy-commands.js';
import { registerRulesCommands } from './commands/rules-commands.js';
import { registerStackCommands } from './commands/stack-commands.js';
import { registerKibanaCommands } from './commands/kibana-commands.js';
import { registerTroubleshootCommands } from './commands/troubleshoot-commands.js';

const program = new Command('mlmon').description('log-centric monitoring for deployed ML models');
registerStackCommands(program);
registerDataCommands(program);
registerAnalyzeCommand(program);
registerDeployCommands(program);
registerRulesCommands(program);
registerTroubleshootCommands(program);
registerKibanaCommands(program);

program.parseAsync().catch((err: Error) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});
