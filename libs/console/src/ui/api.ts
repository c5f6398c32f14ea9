// The page's only door to the server: JSON over fetch, same origin, with the CSRF token on writes.

/** A non-2xx answer, carrying the server's `message` (the contract's error body). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type UnauthorizedListener = () => void;

/** Talks to `<base>/api/...`. One per page. */
export class Api {
  private csrfToken: string | undefined;
  private readonly unauthorizedListeners = new Set<UnauthorizedListener>();

  constructor(readonly base: string) {}

  /** The URL of an API path, e.g. `url('streams/orders')`. */
  url(path: string): string {
    return `${this.base}/api/${path}`;
  }

  /** Sent as `X-CSRF-Token` on every write once the session has one. */
  setCsrfToken(token: string | undefined): void {
    this.csrfToken = token;
  }

  /** Called when the server answers 401 (the session expired or never existed). */
  onUnauthorized(listener: UnauthorizedListener): void {
    this.unauthorizedListeners.add(listener);
  }

  get<T>(path: string, query: Record<string, string | number | null | undefined> = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== null && value !== undefined && value !== '') params.set(name, String(value));
    }
    const text = params.toString();
    const search = text === '' ? '' : `?${text}`;
    return this.request<T>('GET', `${path}${search}`);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (method !== 'GET') {
      headers['Content-Type'] = 'application/json';
      if (this.csrfToken) headers['X-CSRF-Token'] = this.csrfToken;
    }
    const response = await fetch(this.url(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
    if (response.status === 401 && path !== 'login') {
      for (const listener of this.unauthorizedListeners) listener();
    }
    if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }
}

async function errorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { message?: unknown };
    if (typeof body.message === 'string') return body.message;
    if (Array.isArray(body.message)) return body.message.join('; ');
  } catch {
    // not JSON: fall back to the status line
  }
  return `${response.status} ${response.statusText}`.trim();
}

/** A readable message for anything thrown by a request. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
