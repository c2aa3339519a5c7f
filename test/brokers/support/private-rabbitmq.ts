/**
 * A private RabbitMQ node of one spec's own (RabbitMQ 3.10 from Debian's rabbitmq-server): its own
 * node name, AMQP and distribution ports, epmd, HOME (so its own Erlang cookie) and data, log and
 * config files in a temp directory. Nothing of the machine's shared node is read or touched: the
 * system's /etc/rabbitmq/rabbitmq-env.conf (which names the shared node) is replaced by an empty
 * file, and the node registers with an epmd of its own on a private port instead of the shared one.
 *
 * The script /usr/lib/rabbitmq/bin/rabbitmq-server (not /usr/sbin's wrapper, which as root would
 * `su rabbitmq` and cd to the shared node's directory) is the process started; it runs the Erlang
 * VM (beam.smp) as its child and stops it cleanly on SIGTERM. A SIGKILL of the node kills the
 * script and beam.smp by pid (PrivateDatabaseServer.stop), which is a crash of the broker.
 * Starting takes about 3 s; a restart on the same directory keeps durable queues and persistent
 * messages.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { PrivateDatabaseServer, ServerProcess } from '../../replicas/support/server-process';
import { assertFree, listening } from './broker-ports';

const RABBITMQ_SERVER = process.env.TCC_TEST_RABBITMQ_SERVER ?? '/usr/lib/rabbitmq/bin/rabbitmq-server';
const EPMD = process.env.TCC_TEST_EPMD ?? 'epmd';
const START_TIMEOUT_MS = 60_000;

export interface RabbitPorts {
  amqp: number;
  dist: number;
  epmd: number;
}

export class PrivateRabbitMq extends PrivateDatabaseServer {
  private readonly epmd = new ServerProcess('private epmd');
  /** How long each start took, in ms (the report prints them). */
  readonly startTimes: number[] = [];

  private constructor(
    dir: string,
    readonly ports: RabbitPorts,
    private readonly nodeName: string,
  ) {
    super(dir, ports.amqp, { engine: 'rabbitmq', binary: 'rabbitmq-server' });
  }

  /** `amqp://guest:guest@127.0.0.1:<port>`: guest may log in over loopback. */
  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.ports.amqp}`;
  }

  static async create(ports: RabbitPorts): Promise<PrivateRabbitMq> {
    for (const [what, port] of Object.entries(ports)) await assertFree(port, `private rabbitmq (${what})`);
    return PrivateDatabaseServer.inTempDir('tcc-rabbitmq-', async (dir) => {
      const node = new PrivateRabbitMq(dir, ports, `tcc-test-${ports.amqp}@localhost`);
      for (const sub of ['home', 'mnesia', 'log']) mkdirSync(join(dir, sub));
      writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
      writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
      writeFileSync(join(dir, 'advanced.config'), '[].\n');
      writeFileSync(join(dir, 'rabbitmq.conf'), [`listeners.tcp.default = 127.0.0.1:${ports.amqp}`, 'log.console = true', 'log.file = false', ''].join('\n'));
      await node.epmd.start(EPMD, ['-port', String(ports.epmd), '-address', '127.0.0.1'], {}, () => node.epmdUp(), 10_000);
      try {
        await node.start();
      } catch (error) {
        await node.epmd.stop('SIGTERM', 5_000);
        throw error;
      }
      return node;
    });
  }

  /** Starts the node (again, after a stop: same name, data and ports) and waits until it accepts an AMQP login. */
  async start(): Promise<void> {
    const { dir, ports } = this;
    const started = Date.now();
    await this.server.start(
      RABBITMQ_SERVER,
      [],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          HOME: join(dir, 'home'),
          RABBITMQ_NODENAME: this.nodeName,
          RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
          RABBITMQ_NODE_PORT: String(ports.amqp),
          RABBITMQ_DIST_PORT: String(ports.dist),
          ERL_EPMD_PORT: String(ports.epmd),
          ERL_EPMD_ADDRESS: '127.0.0.1',
          RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
          RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
          RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
          RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
          RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
          RABBITMQ_LOG_BASE: join(dir, 'log'),
          RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
          RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
        },
      },
      () => this.acceptsLogin(),
      START_TIMEOUT_MS,
    );
    this.startTimes.push(Date.now() - started);
  }

  /** Stops the node and its epmd by pid, and removes the directory; never throws. */
  override async dispose(): Promise<void> {
    try {
      await super.dispose();
    } finally {
      await this.epmd.stop('SIGTERM', 5_000).catch(() => undefined);
    }
  }

  private async acceptsLogin(): Promise<boolean> {
    try {
      const connection = await connect(this.url, { timeout: 1_000 });
      await connection.close();
      return true;
    } catch {
      return false;
    }
  }

  private epmdUp(): Promise<boolean> {
    return listening(this.ports.epmd);
  }
}
