import { Command } from 'commander';
import { registerStackCommands } from './commands/stack-commands.js';
import { registerKibanaCommands } from './commands/kibana-commands.js';
import { registerTroubleshootCommands } from './commands/troubleshoot-commands.js';

const program = new Command('mlmon').description('log-centric monitoring for deployed ML models');
registerStackCommands(program);
registerTroubleshootCommands(program);
registerKibanaCommands(program);

program.parseAsync().catch((err: Error) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});
