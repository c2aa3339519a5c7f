/** The replica's memory of registered branches: complete lists by gid, taken once, bounded. */
import { RegisteredBranches } from '../../apps/coordinator/src/transactions/registered-branches.cache';
import type { NewBranch } from '../../apps/coordinator/src/store/records';

const branch = (branchId: string, payload: string | null = null): NewBranch => ({
  branchId,
  participant: null,
  protocol: 'http',
  confirmTarget: 'http://127.0.0.1:1/c',
  cancelTarget: 'http://127.0.0.1:1/x',
  payload,
});

describe('RegisteredBranches', () => {
  it('answers the branches of a gid once, a repeat registration counted once', () => {
    const memory = new RegisteredBranches();
    memory.add('g1', branch('a'));
    memory.add('g1', branch('b'));
    memory.add('g1', branch('a'));
    memory.add('g2', branch('a'));
    expect(memory.has('g1')).toBe(true);
    expect(memory.take('g1')?.map((b) => b.branchId)).toEqual(['a', 'b']);
    expect(memory.has('g1')).toBe(false);
    expect(memory.take('g1')).toBeUndefined();
    expect(memory.take('g2')?.map((b) => b.branchId)).toEqual(['a']);
  });

  it('forgets the oldest transactions first when large payloads pass its bound in bytes', () => {
    const memory = new RegisteredBranches();
    const large = 'p'.repeat(60_000);
    for (let i = 0; i < 1_000; i++) memory.add(`g${i}`, branch('b', large));
    // 1,000 x 60 KB (x2 bytes a character) is about 120 MB: the oldest half or so went first.
    expect(memory.has('g0')).toBe(false);
    expect(memory.has('g999')).toBe(true);
    let kept = 0;
    for (let i = 0; i < 1_000; i++) if (memory.has(`g${i}`)) kept++;
    expect(kept).toBeGreaterThan(300);
    expect(kept).toBeLessThan(700);
  });
});
