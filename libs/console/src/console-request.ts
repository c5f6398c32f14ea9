import { requestRemoteAddress, requestUser, type HttpRequestLike } from '@redkit/metrics';

/** The parts of an Express or Fastify request the console reads (see @redkit/metrics http-exchange). */
export interface ConsoleRequest extends HttpRequestLike {
  method?: string;
  url?: string;
  /** Express: the URL as received, before any mount point was stripped. */
  originalUrl?: string;
  /** Set by the console's guard once an API-key session cookie checked out. */
  consoleSession?: { id: string; csrfToken: string; expiresAt: number };
}

/** One request header as a string (the first, when repeated); undefined when absent. */
export function header(request: ConsoleRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The request's path, without the query string. */
export function requestPath(request: ConsoleRequest): string {
  const url = request.originalUrl ?? request.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** What the user an app's guard attached may be named by, in this order. */
const USER_NAME_FIELDS = ['id', 'name', 'sub', 'username', 'email'] as const;

/**
 * Who made the request, for the audit log and the per-client budget: the user the app's guard set
 * (`id`, `name`, `sub`, ...), `api-key` for the built-in session, else `anonymous`.
 */
export function actor(request: ConsoleRequest): string {
  const user = requestUser(request);
  if (typeof user === 'string' && user !== '') return user.slice(0, 200);
  if (user !== null && typeof user === 'object') {
    for (const field of USER_NAME_FIELDS) {
      const value = (user as Record<string, unknown>)[field];
      if ((typeof value === 'string' && value !== '') || typeof value === 'number') {
        return String(value).slice(0, 200);
      }
    }
  }
  if (request.consoleSession !== undefined) return 'api-key';
  return 'anonymous';
}

/** The key the per-client request budget counts by: the actor when known, else the peer address. */
export function clientKey(request: ConsoleRequest): string {
  const who = actor(request);
  if (who !== 'anonymous' && who !== 'api-key') return `user:${who}`;
  if (request.consoleSession !== undefined) return `session:${request.consoleSession.id}`;
  return `address:${requestRemoteAddress(request) ?? 'unknown'}`;
}
