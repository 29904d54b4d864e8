import { Command } from 'commander';
import { registerAnalyzeCommand } from './commands/analyze';
import { registerStackCommands } from './commands/stack-commands';

const program = new Command('mlmon').description('log-centric monitoring for deployed ML models');
registerStackCommands(program);
registerAnalyzeCommand(program);

program.parseAsync().catch((err: Error) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});
