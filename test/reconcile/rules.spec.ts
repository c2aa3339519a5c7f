/**
 * Reconciliation's verdicts (apps/coordinator/src/domain/reconciliation.rules.ts), exhaustively for
 * the shapes a branch's barrier rows can take: pure, no I/O.
 */
import { isCheckable, judge, type CoordinatorSide, type ParticipantSide } from '../../apps/coordinator/src/domain/reconciliation.rules';

const NOW = 10_000_000;
const tcc = (status: CoordinatorSide['status'], branchStatus: CoordinatorSide['branchStatus']): CoordinatorSide => ({ mode: 'tcc', status, branchStatus, createdAt: NOW - 1_000 });
const rows = (...spec: string[]): ParticipantSide['rows'] => spec.map((s) => ({ phase: s.split(':')[0], reason: s.split(':')[1] ?? s.split(':')[0] }));
const answer = (r: ParticipantSide['rows'], state?: ParticipantSide['business'] extends infer B ? (B extends { state: infer S } ? S : never) : never): ParticipantSide => ({
  rows: r,
  business: state ? { state } : null,
  retentionMs: 60_000,
  now: NOW,
});
const kindOf = (c: CoordinatorSide, p: ParticipantSide): string => {
  const v = judge(c, p);
  return v.kind === 'mismatch' ? v.mismatch : v.kind;
};

describe('reconciliation verdicts', () => {
  it('TCC committed', () => {
    const c = tcc('COMMITTED', 'CONFIRMED');
    expect(kindOf(c, answer(rows('try', 'confirm'), 'confirmed'))).toBe('agree');
    expect(kindOf(c, answer(rows('try', 'confirm')))).toBe('agree');
    expect(kindOf(c, answer(rows()))).toBe('UNKNOWN_TO_PARTICIPANT');
    expect(kindOf(c, answer(rows('try')))).toBe('MISSING_CONFIRM');
    expect(kindOf(c, answer(rows('confirm')))).toBe('MISSING_TRY');
    expect(kindOf(c, answer(rows('try:cancel', 'confirm')))).toBe('MISSING_TRY');
    expect(kindOf(c, answer(rows('try', 'confirm', 'cancel')))).toBe('CANCELLED_BUT_COMMITTED');
    for (const state of ['tried', 'cancelled', 'none'] as const) expect(kindOf(c, answer(rows('try', 'confirm'), state))).toBe('BUSINESS_MISMATCH');
  });

  it('TCC rolled back', () => {
    const c = tcc('ROLLED_BACK', 'CANCELLED');
    expect(kindOf(c, answer(rows('try', 'cancel'), 'cancelled'))).toBe('agree');
    // An empty rollback: the business never saw it.
    expect(kindOf(c, answer(rows('cancel', 'try:cancel'), 'none'))).toBe('agree');
    expect(kindOf(c, answer(rows('cancel', 'try:cancel'), 'cancelled'))).toBe('agree');
    expect(kindOf(c, answer(rows('try', 'cancel'), 'none'))).toBe('BUSINESS_MISMATCH');
    expect(kindOf(c, answer(rows('try', 'cancel'), 'tried'))).toBe('BUSINESS_MISMATCH');
    expect(kindOf(c, answer(rows('try', 'cancel'), 'confirmed'))).toBe('BUSINESS_MISMATCH');
    expect(kindOf(c, answer(rows('try', 'confirm', 'cancel')))).toBe('CONFIRMED_BUT_ROLLED_BACK');
    expect(kindOf(c, answer(rows('try')))).toBe('MISSING_CANCEL');
    expect(kindOf(c, answer(rows()))).toBe('UNKNOWN_TO_PARTICIPANT');
  });

  it('sagas and messages', () => {
    const saga = (status: CoordinatorSide['status'], branchStatus: CoordinatorSide['branchStatus']): CoordinatorSide => ({ mode: 'saga', status, branchStatus, createdAt: NOW - 1 });
    expect(kindOf(saga('COMMITTED', 'SUCCEEDED'), answer(rows('try'), 'confirmed'))).toBe('agree');
    expect(kindOf(saga('COMMITTED', 'SUCCEEDED'), answer(rows('try', 'cancel')))).toBe('COMPENSATED_BUT_COMMITTED');
    expect(kindOf(saga('COMMITTED', 'SUCCEEDED'), answer(rows('cancel', 'try:cancel')))).toBe('COMPENSATED_BUT_COMMITTED');
    expect(kindOf(saga('ROLLED_BACK', 'COMPENSATED'), answer(rows('try', 'cancel'), 'cancelled'))).toBe('agree');
    expect(kindOf(saga('ROLLED_BACK', 'COMPENSATED'), answer(rows('try')))).toBe('MISSING_COMPENSATION');
    const message: CoordinatorSide = { mode: 'message', status: 'COMMITTED', branchStatus: 'SUCCEEDED', createdAt: NOW - 1 };
    expect(kindOf(message, answer(rows('msg'), 'confirmed'))).toBe('agree');
    expect(kindOf(message, answer(rows('try')))).toBe('MISSING_DELIVERY');
    expect(kindOf(message, answer(rows('msg'), 'none'))).toBe('BUSINESS_MISMATCH');
    expect(isCheckable('saga', 'ROLLED_BACK', 'SKIPPED')).toBe(false);
    expect(isCheckable('message', 'ROLLED_BACK', 'REGISTERED')).toBe(false);
    expect(isCheckable('tcc', 'COMMITTED', 'CONFIRMED')).toBe(true);
  });

  it('rows older than the participant keeps them are expired, not a mismatch; the business view still counts', () => {
    const old: CoordinatorSide = { ...tcc('COMMITTED', 'CONFIRMED'), createdAt: NOW - 60_000 };
    expect(judge(old, answer(rows()))).toEqual({ kind: 'expired', would: 'UNKNOWN_TO_PARTICIPANT' });
    expect(judge(old, answer(rows('confirm')))).toEqual({ kind: 'expired', would: 'MISSING_TRY' });
    expect(kindOf(old, answer(rows('try', 'confirm'), 'cancelled'))).toBe('BUSINESS_MISMATCH');
    // One millisecond younger than the retention: a mismatch.
    expect(kindOf({ ...old, createdAt: NOW - 59_999 }, answer(rows()))).toBe('UNKNOWN_TO_PARTICIPANT');
  });
});
