import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestartPolicy } from '../src/common/restartPolicy';

test('the host restarts with a doubling delay, tells the user once and gives up after 3 crashes in a minute', () => {
  const p = new RestartPolicy({ maxCrashes: 3, windowMs: 60_000, baseDelayMs: 500, maxDelayMs: 8000 });
  assert.deepEqual(p.onCrash(0), { kind: 'restart', delayMs: 500, notify: true, crashesInWindow: 1 });
  assert.deepEqual(p.onCrash(10_000), { kind: 'restart', delayMs: 1000, notify: false, crashesInWindow: 2 });
  assert.deepEqual(p.onCrash(20_000), { kind: 'give-up', crashesInWindow: 3 });
  assert.ok(p.hasGivenUp);
  assert.equal(p.onCrash(500_000).kind, 'give-up', 'stays given up until reset');
  p.reset();
  assert.deepEqual(p.onCrash(600_000), { kind: 'restart', delayMs: 500, notify: true, crashesInWindow: 1 });
});

test('crashes spread out over time never give up, and each new burst is told once', () => {
  const p = new RestartPolicy({ maxCrashes: 3, windowMs: 60_000, baseDelayMs: 500, maxDelayMs: 8000 });
  for (let i = 0; i < 10; i++) {
    const d = p.onCrash(i * 61_000);
    assert.equal(d.kind, 'restart');
    assert.equal(d.kind === 'restart' && d.notify, true);
  }
});

test('the restart delay is capped', () => {
  const p = new RestartPolicy({ maxCrashes: 10, windowMs: 60_000, baseDelayMs: 1000, maxDelayMs: 3000 });
  const delays = [0, 1, 2, 3].map((i) => {
    const d = p.onCrash(i);
    return d.kind === 'restart' ? d.delayMs : -1;
  });
  assert.deepEqual(delays, [1000, 2000, 3000, 3000]);
});
