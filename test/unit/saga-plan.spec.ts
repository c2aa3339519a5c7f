/** The order of a saga's calls (docs/contract.md §9), pure: actions due, compensations due, dependencies. */
import type { BranchStatus } from '@tcc/client';
import { actionsDue, compensationsDue, sagaDependencies, type SagaStepState } from '../../apps/coordinator/src/domain/saga.plan';

const steps = (spec: Record<string, [BranchStatus, string[]]>): SagaStepState[] =>
  Object.entries(spec).map(([branchId, [status, after]]) => ({ branchId, status, after }));

describe('saga plan', () => {
  it('sequential: each step waits for the one before it', () => {
    expect(sagaDependencies(['a', 'b', 'c'], false, undefined)).toEqual({ after: [[], ['a'], ['b']] });
    expect(actionsDue(steps({ a: ['SUCCEEDED', []], b: ['REGISTERED', ['a']], c: ['REGISTERED', ['b']] }))).toEqual(['b']);
    expect(actionsDue(steps({ a: ['REGISTERED', []], b: ['REGISTERED', ['a']] }))).toEqual(['a']);
  });

  it('concurrent: every step whose dependencies all succeeded is due at once', () => {
    const plan = steps({ a: ['SUCCEEDED', []], b: ['REGISTERED', []], c: ['REGISTERED', ['a']], d: ['REGISTERED', ['a', 'b']] });
    expect(actionsDue(plan)).toEqual(['b', 'c']);
  });

  it('compensates in reverse dependency order, only steps whose action was sent', () => {
    const plan = steps({ a: ['SUCCEEDED', []], b: ['SUCCEEDED', []], c: ['FAILED', ['a', 'b']], d: ['SKIPPED', ['c']] });
    expect(compensationsDue(plan)).toEqual(['c']);
    const next = steps({ a: ['SUCCEEDED', []], b: ['COMPENSATED', []], c: ['COMPENSATED', ['a', 'b']], d: ['SKIPPED', ['c']] });
    expect(compensationsDue(next)).toEqual(['a']);
    // An action sent without an answer (still REGISTERED, after the SKIPPED marking) is compensated too.
    expect(compensationsDue(steps({ a: ['SUCCEEDED', []], b: ['REGISTERED', ['a']] }))).toEqual(['b']);
    expect(compensationsDue(steps({ a: ['COMPENSATED', []], b: ['SKIPPED', ['a']] }))).toEqual([]);
  });

  it('refuses after without concurrent, unknown steps, self-dependencies and cycles', () => {
    expect(sagaDependencies(['a', 'b'], false, { b: ['a'] })).toHaveProperty('invalid');
    expect(sagaDependencies(['a', 'b'], true, { c: ['a'] })).toHaveProperty('invalid');
    expect(sagaDependencies(['a', 'b'], true, { b: ['x'] })).toHaveProperty('invalid');
    expect(sagaDependencies(['a', 'b'], true, { a: ['a'] })).toHaveProperty('invalid');
    expect(sagaDependencies(['a', 'b', 'c'], true, { a: ['c'], b: ['a'], c: ['b'] })).toEqual({ invalid: expect.stringContaining('cycle') });
    expect(sagaDependencies(['a', 'b', 'c'], true, { c: ['a', 'b', 'a'] })).toEqual({ after: [[], [], ['a', 'b']] });
  });
});
