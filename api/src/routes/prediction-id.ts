import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

// uuid asks the system for 16 random bytes per id, one call into C++ each; under load that was a
// tenth of a replica's CPU (bench/api.ts profile). One call fills the bytes of 256 ids.
const POOL_IDS = 256;
const pool = new Uint8Array(POOL_IDS * 16);
let next = pool.length;

function pooledRandom(): Uint8Array {
  if (next === pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool.subarray(next, (next += 16));
}

// Given its own random bytes uuid no longer keeps the counter that orders ids within a
// millisecond, so it is kept here, as uuid keeps it: a random start each millisecond, +1 after.
let msecs = -Infinity;
let seq = 0;

/** A prediction's id: a UUIDv7, so ids sort by time (within a millisecond too) and index in order. */
export function predictionId(): string {
  const random = pooledRandom();
  const now = Date.now();
  if (now > msecs) {
    msecs = now;
    seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else if ((seq = (seq + 1) | 0) === 0) {
    msecs++;
  }
  return uuidv7({ random, msecs, seq });
}
