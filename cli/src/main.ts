import { Command } from 'commander';
import { registerStackCommands } from './commands/stack-commands.js';

const program = new Command('mlmon').description('log-centric monitoring for deployed ML models');
registerStackCommands(program);

program.parseAsync().catch((err: Error) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});
