import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import extract from 'extract-zip';
import { DOWNLOAD_DIR, RUNTIME_DIR } from './paths.js';

/**
 * 8.8.2 is the newest 8.x whose integ-test distribution still answers `GET /`:
 * from 8.9 the root endpoint lives in a `rest-root` module that this
 * distribution does not ship, so `curl :9200` and the client's `info()` fail.
 * The npm client is pinned to the same minor.
 */
export const ES_VERSION = '8.8.2';
export const ES_ARTIFACT = `org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip`;

const zipPath = path.join(DOWNLOAD_DIR, `elasticsearch-${ES_VERSION}.zip`);
export const ES_DIST_DIR = path.join(RUNTIME_DIR, `elasticsearch-${ES_VERSION}`);

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (err) =>
      reject(
        (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? new Error(`${cmd} not found: install it (Debian: apt-get install maven)`)
          : err,
      ),
    );
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

/** Downloads the zip through Maven once; Maven's own progress lines show while it runs. */
async function fetchDistribution(log: (msg: string) => void = console.log): Promise<string> {
  if (existsSync(zipPath)) return zipPath;
  await mkdir(DOWNLOAD_DIR, { recursive: true });
  log(`fetching Elasticsearch ${ES_VERSION} from Maven Central (${ES_ARTIFACT})`);
  await run('mvn', [
    '--batch-mode',
    'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy',
    `-Dartifact=${ES_ARTIFACT}`,
    `-DoutputDirectory=${DOWNLOAD_DIR}`,
  ]);
  if (!existsSync(zipPath)) throw new Error(`Maven finished but ${zipPath} is missing`);
  return zipPath;
}

/** Fetches and unpacks the distribution if needed; returns its home directory. */
export async function ensureDistribution(log: (msg: string) => void = console.log): Promise<string> {
  if (existsSync(path.join(ES_DIST_DIR, 'bin', 'elasticsearch'))) return ES_DIST_DIR;
  const zip = await fetchDistribution(log);
  log(`unpacking ${path.basename(zip)} into ${RUNTIME_DIR}`);
  await mkdir(RUNTIME_DIR, { recursive: true });
  // Unpack beside the target and rename, so an interrupted unpack never looks like a complete one.
  const tmp = await mkdtemp(path.join(RUNTIME_DIR, '.unpack-'));
  try {
    await extract(zip, { dir: tmp });
    await rm(ES_DIST_DIR, { recursive: true, force: true });
    await rename(path.join(tmp, `elasticsearch-${ES_VERSION}`), ES_DIST_DIR);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return ES_DIST_DIR;
}
