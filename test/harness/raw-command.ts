import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';

/** Where to send a raw command, and how. */
export interface RawCommandTarget {
  host: string;
  port: number;
  /** TLS options (for example `{ ca }`); plain TCP when absent. */
  tls?: ConnectionOptions;
  /** Gives up (rejecting) when no complete reply arrived by then. */
  timeoutMs: number;
}

/** An error reply (`-ERR ...`, `-NOAUTH ...`) from the server, as opposed to a transport failure. */
export class RedisErrorReply extends Error {
  override readonly name = 'RedisErrorReply';
}

/**
 * Sends one command on a fresh connection and resolves with its reply: a simple string, an integer or
 * a bulk string as text, `null` for a null bulk string; rejects with RedisErrorReply for an error
 * reply. Arrays are not parsed: the harness only needs PING and CLUSTER INFO.
 *
 * The harness uses this instead of a client library so that it checks a server with nothing between
 * it and the socket: no reconnection, no queueing, no retries to hide a dead or paused server.
 */
export function sendRawCommand(target: RawCommandTarget, args: string[]): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const socket: Socket = target.tls
      ? connectTls({ host: target.host, port: target.port, ...target.tls })
      : connectTcp({ host: target.host, port: target.port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (error: Error | null, reply?: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(reply ?? null);
    };
    const timer = setTimeout(
      () => finish(new Error(`no reply to ${args[0]} within ${target.timeoutMs} ms`)),
      target.timeoutMs,
    );
    socket.once(target.tls ? 'secureConnect' : 'connect', () => socket.write(encodeCommand(args)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const parsed = parseReply(received);
      if (parsed === undefined) return;
      if (parsed instanceof RedisErrorReply) finish(parsed);
      else finish(null, parsed);
    });
    socket.once('error', (error) => finish(error));
    socket.once('close', () => finish(new Error(`connection closed before the reply to ${args[0]}`)));
  });
}

function encodeCommand(args: string[]): string {
  let command = `*${args.length}\r\n`;
  for (const arg of args) command += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return command;
}

/** Parses one non-array RESP reply; undefined while it is still incomplete. */
function parseReply(buffer: Buffer): string | null | RedisErrorReply | undefined {
  const lineEnd = buffer.indexOf('\r\n');
  if (lineEnd === -1) return undefined;
  const line = buffer.toString('utf8', 1, lineEnd);
  switch (String.fromCharCode(buffer[0])) {
    case '+':
    case ':':
      return line;
    case '-':
      return new RedisErrorReply(line);
    case '$': {
      const length = Number(line);
      if (length < 0) return null;
      const start = lineEnd + 2;
      if (buffer.length < start + length + 2) return undefined;
      return buffer.toString('utf8', start, start + length);
    }
    default:
      return new RedisErrorReply(
        `unexpected reply type: ${JSON.stringify(buffer.toString('utf8', 0, lineEnd))}`,
      );
  }
}
