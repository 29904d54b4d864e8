import { describe, expect, it } from 'vitest';
import { sampleEvents } from '@mlmon/contract/testing';
import { routeLine } from '../src/router.js';

describe('routing a line', () => {
  it('sends a prediction under its own id and any other line under its stream and offset, to the daily index of its family', () => {
    const samples = sampleEvents();
    const opts = { prefix: 'mlmon', stream: 'AbCdEfGhIjKlMnOp', offset: 1234 };
    const prediction = routeLine(JSON.stringify(samples['mlmon.prediction']), opts);
    const day = samples['mlmon.prediction']['@timestamp'].slice(0, 10).replaceAll('-', '.');
    expect(prediction).toMatchObject({ ok: true, index: `mlmon-predictions-${day}`, id: samples['mlmon.prediction'].mlmon.prediction.id });
    expect(routeLine(JSON.stringify(samples['mlmon.drift']), opts)).toMatchObject({ ok: true, index: `mlmon-metrics-${day}`, id: 'AbCdEfGhIjKlMnOp-1234' });
    expect(routeLine('{"event": {"dataset": "mlmon.nope"}}', opts)).toEqual({ ok: false, reason: 'event.dataset: unknown dataset ("mlmon.nope")' });
  });
});
