import { readFileSync, writeFileSync } from 'node:fs';
import { README, renderReadme } from './docs.js';

/** `npm run rules:docs`: regenerates the rules section of watcher-rules/README.md from watches/*.json. */
const before = readFileSync(README, 'utf8');
const after = renderReadme(before);
if (after === before) console.log(`${README}: up to date`);
else {
  writeFileSync(README, after);
  console.log(`${README}: rules section regenerated`);
}
