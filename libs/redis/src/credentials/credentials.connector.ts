import { createConnection, Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';

import { AbstractConnector, SentinelConnector, type RedisOptions } from 'ioredis';

import type { CredentialsSource, FetchedCredentials } from './credentials-source.js';

/** ioredis's message for a connect cut short by disconnect(); it treats this one as a clean end. */
const CONNECTION_CLOSED = 'Connection is closed.';

type Stream = Socket;
type ErrorEmitter = (type: string, error: Error) => void;
type ConnectorOptions = RedisOptions & { disconnectTimeout?: number; path?: string };

/** What ioredis does with `options.Connector`: `new Connector(options)` for every client it makes. */
export type ConnectorClass = NonNullable<RedisOptions['Connector']>;

/** The socket to one server, as ioredis's own standalone connector opens it. */
class SocketConnector extends AbstractConnector {
  constructor(private readonly options: ConnectorOptions) {
    super(options.disconnectTimeout ?? 2_000);
  }

  connect(): Promise<Stream> {
    this.connecting = true;
    const { options } = this;
    const target = options.path
      ? { path: options.path }
      : { host: options.host, port: options.port, family: options.family };
    const stream = options.tls
      ? connectTls({ ...target, ...options.tls })
      : createConnection(target as { port: number });
    this.stream = stream;
    stream.once('error', (error) => (this.firstError = error));
    return Promise.resolve(stream);
  }
}

/**
 * A connector that asks the `credentials` provider before every connect and authenticates the
 * socket itself before ioredis sees it. ioredis reads `password` once per client at connect time
 * and has no hook to fetch one (ioredis #1738, #2170), so the client is given no password at all
 * and this sends AUTH as the first command: a reconnect of any node, subscriber or duplicate gets
 * fresh credentials. A disconnect() while the provider runs opens no socket.
 */
export function credentialsConnector(source: CredentialsSource, sentinel: boolean): ConnectorClass {
  return class CredentialsConnector extends AbstractConnector {
    private readonly inner: AbstractConnector;

    private readonly options: ConnectorOptions;

    constructor(input: unknown) {
      const options = input as ConnectorOptions;
      super(options.disconnectTimeout ?? 2_000);
      this.options = options;
      this.inner = sentinel
        ? new SentinelConnector(options as ConstructorParameters<typeof SentinelConnector>[0])
        : new SocketConnector(options);
    }

    override check(info: Record<string, unknown>): boolean {
      return this.inner.check(info);
    }

    override disconnect(): void {
      this.connecting = false;
      this.inner.disconnect();
    }

    override async connect(emit: ErrorEmitter): Promise<Stream> {
      this.connecting = true;
      let credentials: FetchedCredentials;
      try {
        credentials = await source.fetch();
      } catch (error) {
        if (!this.connecting) throw new Error(CONNECTION_CLOSED);
        return this.failed(error);
      }
      if (!this.connecting) throw new Error(CONNECTION_CLOSED);
      const stream = (await this.inner.connect(emit)) as Stream;
      try {
        await authenticate(stream, credentials, this.options);
      } catch (error) {
        stream.destroy();
        return this.failed(error);
      }
      return stream;
    }

    /** ioredis reports `firstError` for a stream that is already destroyed, then retries. */
    private failed(error: unknown): Stream {
      this.firstError = error as Error;
      const stream = new Socket();
      stream.destroy();
      return stream;
    }
  };
}

/** `AUTH [username] password` as the socket's first command; resolves on +OK. */
function authenticate(
  stream: Stream,
  credentials: FetchedCredentials,
  options: ConnectorOptions,
): Promise<void> {
  const timeoutMs = options.connectTimeout ?? 10_000;
  const args =
    credentials.username === undefined
      ? ['AUTH', credentials.password]
      : ['AUTH', credentials.username, credentials.password];
  return new Promise<void>((resolve, reject) => {
    let reply = '';
    const timer = setTimeout(
      () => settle(new Error(`connect ETIMEDOUT: AUTH not answered within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      reply += chunk.toString('latin1');
      const end = reply.indexOf('\r\n');
      if (end === -1) return;
      const line = reply.slice(0, end);
      // The server's words, e.g. "WRONGPASS invalid username-password pair": never the password.
      settle(line.startsWith('+') ? undefined : new Error(line.slice(1)));
    };
    const onError = (error: Error): void => settle(error);
    const onClose = (): void => settle(new Error(CONNECTION_CLOSED));
    const send = (): void => {
      stream.on('data', onData);
      stream.write(encodeCommand(args));
    };
    const connectEvent = options.tls ? 'secureConnect' : 'connect';
    function settle(error?: Error): void {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('error', onError);
      stream.off('close', onClose);
      stream.off(connectEvent, send);
      if (error) reject(error);
      else resolve();
    }
    stream.once('error', onError);
    stream.once('close', onClose);
    if (stream.connecting) stream.once(connectEvent, send);
    else send();
  });
}

function encodeCommand(args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}
