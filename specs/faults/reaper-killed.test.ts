import { describe, expect, test } from 'vitest';
import { SPEC_OPTIONS, SPEC_TIMEOUT_MS } from './expect.ts';
import { reaperKilled } from './harness.ts';

// Issue 14, fault 5: the runner's whole process group and its detached reaper SIGKILLed together.
// Then nothing can clean up but the next run, which must, and must say what it removed.
describe('fault: the reaper killed together with the runner', () => {
  test("embedded: the next run removes the dead run's server dir and postmaster", {
    timeout: SPEC_TIMEOUT_MS,
  }, async () => {
    const r = await reaperKilled('embedded', SPEC_OPTIONS);
    expect(r.signal, r.output).toBe('SIGKILL');
    expect(r.leftAtFault).toContain(`dir "${r.server}"`);
    expect(r.next?.code, r.next?.output).toBe(0);
    expect(r.next?.output).toContain(`shipgate: embedded: removed "${r.server}", left by run `);
    expect(r.leftovers).toEqual([]);
  });

  test("external: the next run sweeps the dead run's databases by its lease", {
    timeout: SPEC_TIMEOUT_MS,
  }, async () => {
    const r = await reaperKilled('external', SPEC_OPTIONS);
    expect(r.signal, r.output).toBe('SIGKILL');
    const dbs = (r.leftAtFault ?? []).filter((l) => l.startsWith('database '));
    expect(dbs.length, JSON.stringify(r.leftAtFault)).toBeGreaterThan(0);
    expect(r.next?.code, r.next?.output).toBe(0);
    for (const d of dbs)
      expect(r.next?.output).toContain(`shipgate: swept ${d.replace(/^database /, '')}, left by run `);
    expect(r.leftovers).toEqual([]);
  });
});
