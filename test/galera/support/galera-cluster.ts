/**
 * A private MariaDB Galera cluster of one spec's own: three mariadbd processes on loopback, each
 * with its own datadir, client port, socket, Galera port, IST and SST port, under a cluster name
 * no other run uses. Node 1 is initialised (mariadb-install-db) and bootstraps the cluster; the
 * others join empty and receive a full copy by rsync SST. Every process is stopped only by its pid.
 *
 * Two things a root test run needs that a packaged server does not: `--user=root`, and joiner
 * datadirs owned by `nobody`, because the rsync daemon the SST script starts as root drops to
 * `nobody` (rsyncd's default uid) and must be able to write there; mariadbd, as root, reads the
 * files whoever owns them.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { freePort } from '../../replicas/support/ports';
import { PrivateServer, ServerProcess, runToExit, type Exit } from '../../replicas/support/server-process';
import { eventually, randomSuffix } from '../../support/wait';

/** The Galera 4 provider of Debian's `galera-4` package (`dpkg -L galera-4`). */
export const GALERA_PROVIDER = process.env.TCC_TEST_GALERA_PROVIDER ?? '/usr/lib/galera/libgalera_smm.so';

/** The wsrep status a node reports about itself (SHOW GLOBAL STATUS LIKE 'wsrep_%'). */
export interface WsrepStatus {
  /** `Synced`, `Joining`, `Joined`, `Donor/Desynced`, `Initialized` (not in a primary component). */
  state: string;
  /** `ON` once the node accepts queries. */
  ready: string;
  /** `Primary` or `non-Primary`. */
  clusterStatus: string;
  clusterSize: number;
}

interface NodePorts {
  client: number;
  galera: number;
  ist: number;
  sst: number;
}

/** Default generous: a busy two-core machine copies a datadir by rsync in tens of seconds. */
const JOIN_TIMEOUT_MS = 180_000;

export class GaleraNode extends PrivateServer {
  constructor(
    readonly index: number,
    readonly dir: string,
    readonly ports: NodePorts,
    private readonly cluster: { name: string; address: () => string },
  ) {
    super(new ServerProcess(`galera node ${index} on ${ports.client}`, 200_000));
  }

  get port(): number {
    return this.ports.client;
  }

  get datadir(): string {
    return join(this.dir, 'data');
  }

  /** `mysql://root@127.0.0.1:<port>/<database>` for TCC_DB_URL. */
  url(database: string): string {
    return `mysql://root@127.0.0.1:${this.ports.client}/${database}`;
  }

  /** mariadbd's arguments for this node; `extra` adds `--wsrep-new-cluster`, a start position or `--wsrep-recover`. */
  args(extra: string[] = []): string[] {
    const { client, galera, ist, sst } = this.ports;
    return [
      '--no-defaults',
      '--user=root',
      `--datadir=${this.datadir}`,
      `--port=${client}`,
      `--socket=${join(this.dir, 'mariadb.sock')}`,
      `--pid-file=${join(this.dir, 'mariadb.pid')}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=64M',
      '--max-connections=500',
      '--wsrep-on=ON',
      `--wsrep-provider=${GALERA_PROVIDER}`,
      `--wsrep-cluster-address=${this.cluster.address()}`,
      `--wsrep-cluster-name=${this.cluster.name}`,
      `--wsrep-node-name=node${this.index}`,
      '--wsrep-node-address=127.0.0.1',
      // Galera's own options: every listener on loopback and on this node's ports; a small gcache
      // (IST after a restart needs only what was written meanwhile).
      `--wsrep-provider-options=base_host=127.0.0.1;base_port=${galera};gmcast.listen_addr=tcp://127.0.0.1:${galera};ist.recv_addr=127.0.0.1:${ist};gcache.size=64M`,
      '--wsrep-sst-method=rsync',
      `--wsrep-sst-receive-address=127.0.0.1:${sst}`,
      '--binlog-format=ROW',
      '--default-storage-engine=InnoDB',
      '--innodb-autoinc-lock-mode=2',
      ...extra,
    ];
  }

  /** Starts mariadbd and resolves once the node is Synced in a primary component of `size` nodes. */
  start(extra: string[] = [], size?: number, timeoutMs = JOIN_TIMEOUT_MS): Promise<void> {
    return this.server.start('mariadbd', this.args(extra), {}, () => this.synced(size), timeoutMs);
  }

  /**
   * After a crash: `mariadbd --wsrep-recover` reads the last committed position from InnoDB (the
   * grastate.dat of a killed node says seqno -1), then the node starts at that position, so the
   * cluster can send it the missing writes by IST instead of a whole copy.
   */
  async recoverAndStart(size?: number, timeoutMs = JOIN_TIMEOUT_MS): Promise<string> {
    if (this.running) throw new Error(`galera node ${this.index} is running`);
    // Back in the cluster it is a joiner: even an IST goes through the SST script, whose rsync
    // daemon (as nobody) writes into the datadir; node 1, made by mariadb-install-db, is root's.
    await ownForSst(this.datadir);
    const recover = await runToExit('mariadbd', this.args(['--wsrep-recover']));
    const log = recover.output;
    const position = /WSREP: Recovered position: ([0-9a-f-]{36}:-?\d+)/.exec(log)?.[1];
    if (recover.code !== 0 || !position) {
      throw new Error(`mariadbd --wsrep-recover on node ${this.index} gave no position (exit ${recover.code}):\n${log.slice(-4000)}`);
    }
    await this.start([`--wsrep-start-position=${position}`], size, timeoutMs);
    return position;
  }

  /** Whether the node answers and is Synced (and, when given, in a cluster of `size`). */
  async synced(size?: number): Promise<boolean> {
    const status = await this.status();
    return status.state === 'Synced' && status.ready === 'ON' && (size === undefined || status.clusterSize === size);
  }

  async status(): Promise<WsrepStatus> {
    const rows = await this.query<RowDataPacket>(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_ready', 'wsrep_cluster_status', 'wsrep_cluster_size')",
    );
    const value = (name: string): string => String(rows.find((r) => String(r.Variable_name).toLowerCase() === name)?.Value ?? '');
    return {
      state: value('wsrep_local_state_comment'),
      ready: value('wsrep_ready'),
      clusterStatus: value('wsrep_cluster_status'),
      clusterSize: Number(value('wsrep_cluster_size') || 0),
    };
  }

  /**
   * Cuts the node off the group (Galera's `gmcast.isolate`): it leaves the primary component and,
   * until `rejoin`, answers every query on a table with 1047 "WSREP has not yet prepared node for
   * application use": the state a node is in while it rejoins, held for as long as a test needs.
   */
  async isolate(timeoutMs = 60_000): Promise<void> {
    await this.query("SET GLOBAL wsrep_provider_options = 'gmcast.isolate=1'");
    await eventually(async () => (await this.status()).ready === 'OFF', { timeoutMs, intervalMs: 100, what: `galera node ${this.index} to leave the cluster` });
  }

  /** Lets an isolated node back in and waits until it has caught up (IST) and is Synced. */
  async rejoin(size?: number, timeoutMs = JOIN_TIMEOUT_MS): Promise<void> {
    await this.query("SET GLOBAL wsrep_provider_options = 'gmcast.isolate=0'");
    await this.waitSynced(size, timeoutMs);
  }

  waitSynced(size?: number, timeoutMs = JOIN_TIMEOUT_MS): Promise<true> {
    return eventually(() => this.synced(size), { timeoutMs, intervalMs: 100, what: `galera node ${this.index} to be Synced${size ? ` in a cluster of ${size}` : ''}` });
  }

  /** Stops the node by pid and waits for the process to exit (SIGKILL: a crash). */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', timeoutMs = 60_000): Promise<Exit> {
    const { forced, ...exit } = await this.server.stop(signal, timeoutMs);
    if (forced) throw new Error(`mariadbd pid ${this.pid} (galera node ${this.index}) did not exit within ${timeoutMs} ms of ${signal}`);
    return exit;
  }

  /** One statement on a fresh connection, as root. */
  async query<T extends RowDataPacket = RowDataPacket>(sql: string, params: unknown[] = [], database?: string): Promise<T[]> {
    const connection = await createConnection({ host: '127.0.0.1', port: this.ports.client, user: 'root', database, connectTimeout: 3_000 });
    try {
      const [rows] = await connection.query<T[]>(sql, params);
      return rows;
    } finally {
      await connection.end().catch(() => undefined);
    }
  }
}

/** Gives a joiner's datadir to `nobody`, the user the SST's rsync daemon writes as. */
async function ownForSst(datadir: string): Promise<void> {
  const nobody = await runToExit('id', ['-u', 'nobody']);
  const nogroup = await runToExit('id', ['-g', 'nobody']);
  chownSync(datadir, Number(nobody.output.trim()), Number(nogroup.output.trim()));
}

/** `count` distinct free ports (freePort alone may hand the same one out twice). */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

export class GaleraCluster {
  private constructor(
    readonly dir: string,
    readonly name: string,
    readonly nodes: GaleraNode[],
  ) {}

  /** Creates the directories and ports of `size` nodes, bootstraps node 1 and joins the others one by one. */
  static async start(size = 3): Promise<GaleraCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'tcc-galera-'));
    // The SST's rsync daemon runs as nobody and must reach the joiners' datadirs.
    chmodSync(dir, 0o755);
    const name = `tcc-galera-${randomSuffix(8)}`;
    const ports = await distinctFreePorts(size * 4);
    const nodes: GaleraNode[] = [];
    const address = (): string => `gcomm://${nodes.map((n) => `127.0.0.1:${n.ports.galera}`).join(',')}`;
    for (let i = 0; i < size; i++) {
      const [client, galera, ist, sst] = ports.slice(i * 4, i * 4 + 4);
      const nodeDir = join(dir, `node${i + 1}`);
      mkdirSync(nodeDir, { mode: 0o755 });
      nodes.push(new GaleraNode(i + 1, nodeDir, { client, galera, ist, sst }, { name, address }));
    }
    const cluster = new GaleraCluster(dir, name, nodes);
    try {
      const install = await runToExit('mariadb-install-db', [
        '--no-defaults',
        `--datadir=${nodes[0].datadir}`,
        '--auth-root-authentication-method=normal',
        '--user=root',
        '--skip-test-db',
      ]);
      if (install.code !== 0) throw new Error(`mariadb-install-db failed (${install.code}):\n${install.output.slice(-4000)}`);
      await nodes[0].start(['--wsrep-new-cluster'], 1);
      for (const node of nodes.slice(1)) {
        mkdirSync(node.datadir, { mode: 0o700 });
        await ownForSst(node.datadir);
        await node.start([], node.index);
      }
      await cluster.waitSynced();
      return cluster;
    } catch (error) {
      const logs = nodes.map((n) => `--- node ${n.index} ---\n${n.logs.slice(-3000)}`).join('\n');
      await cluster.dispose();
      throw new Error(`${(error as Error).message}\n${logs}`);
    }
  }

  node(index: number): GaleraNode {
    return this.nodes[index - 1];
  }

  /** Waits until every node is Synced in a primary component of all of them. */
  async waitSynced(timeoutMs = JOIN_TIMEOUT_MS): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.waitSynced(this.nodes.length, timeoutMs)));
  }

  /** Cleanup for afterAll: every node SIGKILLed by pid, the directory removed; never throws. */
  async dispose(): Promise<void> {
    for (const node of this.nodes) await node.stop('SIGKILL', 15_000).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
