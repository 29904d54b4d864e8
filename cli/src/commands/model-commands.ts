import type { Command } from 'commander';
import { admin, servingStates, untilEveryReplica, type ServingState } from '../stack/client.js';
import { runPaths } from '../stack/paths.js';
import { runningStack, type StackFile } from '../stack/stack-file.js';

const share = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`--sample must be a number from 0 to 1 (the share of requests copied): ${v}`);
  return n;
};

function stackOrThrow(): StackFile {
  const stack = runningStack(runPaths());
  if (!stack) throw new Error('the stack is not running: npm start');
  return stack;
}

const describe = (s: ServingState) =>
  [`active ${s.active}`, s.canary ? `canary ${s.canary.version} at ${s.canary.weight}%` : 'no canary', s.shadow ? `shadow ${s.shadow.version} on ${s.shadow.sample * 100}% of requests` : 'no shadow'].join(', ');

/** `mlmon model …`: what the replicas serve, and a shadow version beside the active one. */
export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('what the replicas serve: the active version, a canary, a shadow');

  model
    .command('shadow [version]')
    .description('copy a share of the requests the active version answers to <version> as a shadow, after the answer is sent (clients never see its answers); --off removes it')
    .option('--sample <fraction>', 'share of requests copied, 0 to 1 (0 removes the shadow)', share, 1)
    .option('--off', 'remove the shadow')
    .action(async (version: string | undefined, o: { sample: number; off?: boolean }) => {
      if (o.off ? version !== undefined : version === undefined) throw new Error('name a version to shadow, or --off to remove the shadow (not both)');
      const stack = stackOrThrow();
      const state = o.off ? await admin(stack, 'DELETE', '/admin/models/shadow') : await admin(stack, 'PUT', '/admin/models/shadow', { version, sample: o.sample });
      await untilEveryReplica(stack, (s) => JSON.stringify(s.shadow) === JSON.stringify(state.shadow));
      console.log(describe(state));
      if (!o.off && o.sample > 0) console.log(`the paired figures appear in \`mlmon analyze\` and the shadow's mlmon.quality documents once labeled traffic comes in`);
    });

  model
    .command('status')
    .description('the serving state of every replica (active, canary and weight, shadow and sample), and whether they agree')
    .option('--json', 'one JSON document instead of text')
    .action(async (o: { json?: boolean }) => {
      const replicas = await servingStates(stackOrThrow());
      const states = new Set(replicas.map((r) => (r.state ? JSON.stringify({ active: r.state.active, canary: r.state.canary, shadow: r.state.shadow }) : 'unreachable')));
      const agree = states.size === 1 && !states.has('unreachable');
      if (o.json) console.log(JSON.stringify({ agree, replicas }, null, 2));
      else {
        for (const r of replicas) console.log(`  ${r.replica.padEnd(10)} ${r.state ? describe(r.state) : `unreachable: ${r.error}`}`);
        console.log(replicas.length === 0 ? 'no replica is running' : agree ? `all ${replicas.length} replicas agree` : 'the replicas DISAGREE: a state change has not reached every replica yet (the shared state file is re-read on change)');
      }
      if (!agree) process.exitCode = 2;
    });
}
