/**
 * The one place where redkit meets the differences between Nest's HTTP adapters. Guards and
 * interceptors receive Express's `req`/`res` on `@nestjs/platform-express` and Fastify's
 * `FastifyRequest`/`FastifyReply` on `@nestjs/platform-fastify`; these functions read and write both
 * without allocating, so a guard on the hot path stays cheap. What Nest's own `HttpAdapterHost`
 * already abstracts (status, reply, `isHeadersSent`) is better used from there.
 *
 * The differences handled here:
 * - a response header: Express's `res.setHeader(name, value)`, Fastify's `reply.header(name, value)`;
 * - the TCP peer: `req.socket.remoteAddress` on both, `req.raw.socket` when a request object
 *   hides it (older Fastify), `req.ip` last;
 * - the authenticated user: Nest guards (Passport's `AuthGuard`) set `request.user` on the object
 *   both adapters hand to guards, but Express-style middleware mounted with `app.use()` on Fastify
 *   (through @fastify/middie) writes to the raw Node request, `request.raw.user`.
 */

/** The parts of an Express or Fastify request redkit reads. */
export interface HttpRequestLike {
  headers: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string } | null;
  ip?: string;
  user?: unknown;
  /** Fastify: the Node request under the FastifyRequest. */
  raw?: { socket?: { remoteAddress?: string } | null; user?: unknown };
  params?: unknown;
  query?: unknown;
  body?: unknown;
}

/** An Express response (`setHeader`) or a Fastify reply (`header`). */
export interface HttpResponseLike {
  setHeader?(name: string, value: string): unknown;
  header?(name: string, value: string): unknown;
}

/** Sets a response header on an Express response or a Fastify reply. */
export function setResponseHeader(response: HttpResponseLike, name: string, value: string): void {
  if (typeof response.header === 'function') response.header(name, value);
  else response.setHeader?.(name, value);
}

/** The TCP peer's address (the client, or the nearest proxy), `undefined` when the socket is gone. */
export function requestRemoteAddress(request: HttpRequestLike): string | undefined {
  return request.socket?.remoteAddress ?? request.raw?.socket?.remoteAddress ?? request.ip;
}

/** The user an auth guard or middleware attached to the request, on either adapter. */
export function requestUser(request: HttpRequestLike): unknown {
  return request.user ?? request.raw?.user;
}
