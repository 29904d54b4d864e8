import { Command } from 'commander';
import { registerRulesCommands } from './commands/rules-commands.js';
import { registerStackCommands } from './commands/stack-commands';

const program = new Command('mlmon').description('log-centric monitoring for deployed ML models');
registerStackCommands(program);
registerRulesCommands(program);

program.parseAsync().catch((err: Error) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});
