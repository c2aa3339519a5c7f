/**
 * The private Galera cluster the other Galera specs stand on: three nodes Synced, a write on one
 * seen on the others, a node SIGKILLed and brought back by --wsrep-recover and IST with what was
 * written while it was down, an isolated node answering 1047 until it rejoins.
 */
import { GaleraCluster } from './support/galera-cluster';
import { eventually } from '../support/wait';

jest.setTimeout(600_000);

describe('a private three-node Galera cluster', () => {
  let cluster: GaleraCluster;

  beforeAll(async () => {
    cluster = await GaleraCluster.start(3);
  });

  afterAll(async () => {
    await cluster?.dispose();
  });

  it('runs three Synced nodes that replicate each other', async () => {
    for (const node of cluster.nodes) expect(await node.status()).toMatchObject({ state: 'Synced', ready: 'ON', clusterStatus: 'Primary', clusterSize: 3 });
    await cluster.node(1).query('CREATE DATABASE harness');
    await cluster.node(1).query('CREATE TABLE harness.t (id INT PRIMARY KEY, v INT)');
    await cluster.node(2).query('INSERT INTO harness.t VALUES (1, 1)');
    // Without wsrep_sync_wait a read on another node may run before the write is applied there.
    await eventually(async () => (await cluster.node(3).query('SELECT v FROM harness.t WHERE id = 1')).length === 1, { what: 'the row on node 3' });
  });

  it('brings a SIGKILLed node back by --wsrep-recover and IST, with the writes it missed', async () => {
    const node = cluster.node(2);
    const pid = node.pid;
    await node.stop('SIGKILL');
    await cluster.node(1).waitSynced(2);
    for (let i = 2; i <= 20; i++) await cluster.node(1).query('INSERT INTO harness.t VALUES (?, ?)', [i, i]);
    const position = await node.recoverAndStart(3);
    expect(position).toMatch(/^[0-9a-f-]{36}:\d+$/);
    expect(node.pid).not.toBe(pid);
    expect(node.logs).toMatch(/IST received|Receiving IST/);
    const rows = await node.query('SELECT COUNT(*) AS n FROM harness.t');
    expect(Number(rows[0].n)).toBe(20);
    await cluster.waitSynced();
  });

  it('answers 1047 on an isolated node until it rejoins', async () => {
    const node = cluster.node(3);
    await node.isolate();
    expect(await node.status()).toMatchObject({ ready: 'OFF' });
    await expect(node.query('SELECT v FROM harness.t WHERE id = 1')).rejects.toMatchObject({ errno: 1047 });
    await node.rejoin(3);
    expect(await node.query('SELECT v FROM harness.t WHERE id = 1')).toHaveLength(1);
  });
});
