/**
 * Sagas and reliable messages over the coordinator's gRPC API (docs/contract.md §4, §9, §10), with
 * gRPC participants: StartSaga with a refused action compensated, concurrent `after` lists,
 * PrepareMessage / SubmitMessage / AbortMessage, a queryPrepared that is a gRPC method, and
 * INVALID_ARGUMENT naming the step's field.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { createStore, SERVER, startCoordinator, type RunningCoordinator, type TestStore } from '../support/coordinator.in-process';
import { closeAll, randomSuffix } from '../support/wait';
import { GrpcCoordinatorApi } from './support/grpc-coordinator.api';
import { GrpcParticipantServer } from './support/grpc-participant.server';

const STEP = 'tcc.test.Step';

describe(`sagas and messages over gRPC on ${SERVER}`, () => {
  let store: TestStore | undefined;
  let coordinator: RunningCoordinator | undefined;
  let participant: GrpcParticipantServer;
  let grpc: GrpcCoordinatorApi;

  beforeAll(async () => {
    participant = await GrpcParticipantServer.start([STEP]);
    store = await createStore(SERVER);
    coordinator = await startCoordinator(store, {
      TCC_REQUEST_TIMEOUT_MS: '1000',
      TCC_RETRY_BASE_MS: '50',
      TCC_RETRY_MAX_MS: '200',
      TCC_SCAN_INTERVAL_MS: '100',
      TCC_COMMIT_WAIT_MS: '10000',
    });
    grpc = new GrpcCoordinatorApi(coordinator.grpcAddress);
  });

  afterAll(async () => {
    await closeAll(
      () => grpc?.close(),
      () => coordinator?.close(),
      () => participant?.close(),
      () => store?.dispose(),
    );
  });

  const step = (id: string, after?: string[]) => ({
    branchId: id,
    protocol: 'grpc',
    action: participant.target(STEP, 'Try'),
    compensate: participant.target(STEP, 'Cancel'),
    payload: JSON.stringify({ id }),
    ...(after ? { after } : {}),
  });

  it('StartSaga: a refused action compensates the steps sent, in reverse order; GetTransaction says mode saga', async () => {
    const gid = `grpc-saga-${randomSuffix()}`;
    participant.behave(STEP, 'Try', { kind: 'fail', code: GrpcStatus.FAILED_PRECONDITION, times: 0 });
    const ok = await grpc.startSaga({ gid, steps: [step('a'), step('b')], wait: true });
    expect(ok.code).toBe(GrpcStatus.OK);
    expect(ok.reply).toMatchObject({ gid, status: 'COMMITTED' });
    expect((await grpc.view(gid)).mode).toBe('saga');

    const refused = `grpc-saga-refused-${randomSuffix()}`;
    participant.behave(STEP, 'Try', { kind: 'fail', code: GrpcStatus.FAILED_PRECONDITION, times: 3 });
    // a and b at once (both refused is fine: each was sent), c after both: never sent.
    const res = await grpc.startSaga({ gid: refused, steps: [step('a'), step('b'), step('c', ['a', 'b'])], concurrent: true, wait: true });
    expect(res.reply).toMatchObject({ gid: refused, status: 'ROLLED_BACK' });
    const calls = participant.callsFor(refused);
    expect(calls.filter((c) => c.request.phase === 'compensate').map((c) => c.request.branchId).sort()).toEqual(['a', 'b']);
    expect(calls.some((c) => c.request.branchId === 'c')).toBe(false);
    expect(calls[0].metadata['x-tcc-phase']).toBe('action');
  });

  it('PrepareMessage, SubmitMessage: delivered to a gRPC method; AbortMessage only while PREPARED', async () => {
    const gid = `grpc-msg-${randomSuffix()}`;
    participant.behave(STEP, 'Try', { kind: 'ok' });
    const steps = [{ branchId: 'points', protocol: 'grpc', action: participant.target(STEP, 'Confirm'), payload: '{"points":5}' }];
    const prepared = await grpc.prepareMessage({ gid, steps, queryPrepared: participant.target(STEP, 'Try'), timeoutMs: 60_000 });
    expect(prepared.reply).toMatchObject({ gid, status: 'PREPARED', created: true });
    const submitted = await grpc.submitMessage({ gid, wait: true });
    expect(submitted.reply).toMatchObject({ gid, status: 'COMMITTED' });
    const [delivery] = participant.callsFor(gid, 'points', 'message');
    expect(JSON.parse(delivery.request.payload ?? 'null')).toEqual({ points: 5 });
    const abort = await grpc.abortMessage({ gid });
    expect([abort.codeName, abort.status]).toEqual(['FAILED_PRECONDITION', 'COMMITTED']);

    const aborted = `grpc-msg-abort-${randomSuffix()}`;
    await grpc.prepareMessage({ gid: aborted, steps, queryPrepared: participant.target(STEP, 'Try') });
    expect((await grpc.abortMessage({ gid: aborted, reason: 'no' })).reply).toMatchObject({ status: 'ROLLED_BACK' });
    expect(participant.callsFor(aborted)).toEqual([]);
  });

  it('a queryPrepared that is a gRPC method: its BranchReply.result {"status":"COMMITTED"} delivers the message', async () => {
    const gid = `grpc-msg-query-${randomSuffix()}`;
    participant.behave(STEP, 'Cancel', { kind: 'ok', result: JSON.stringify({ status: 'COMMITTED' }) });
    const steps = [{ branchId: 'a', protocol: 'grpc', action: participant.target(STEP, 'Confirm') }];
    await grpc.prepareMessage({ gid, steps, queryPrepared: participant.target(STEP, 'Cancel'), timeoutMs: 200 });
    await participant.waitForCalls((c) => c.request.gid === gid && c.request.phase === 'message', 1, 30_000);
    const [query] = participant.callsFor(gid, 'prepared', 'query');
    expect(query.path).toBe(`/${STEP}/Cancel`);
    expect((await grpc.view(gid)).branches?.[0]).toMatchObject({ branchId: 'a' });
  });

  it('INVALID_ARGUMENT names the step field; nothing is written', async () => {
    const gid = `grpc-bad-${randomSuffix()}`;
    const bad = await grpc.startSaga({ gid, steps: [{ ...step('a'), action: 'nowhere' }] });
    expect(bad.codeName).toBe('INVALID_ARGUMENT');
    expect(bad.fields).toEqual(expect.arrayContaining(['steps[0].action']));
    const badMessage = await grpc.prepareMessage({ gid, steps: [], queryPrepared: participant.target(STEP, 'Try') });
    expect(badMessage.fields).toEqual(expect.arrayContaining(['steps']));
    expect((await grpc.get(gid)).codeName).toBe('NOT_FOUND');
  });
});
