// The page's entry: reads its base path from <meta name="redkit-console">, asks the server what
// this session may see and do, draws the shell (header, navigation, live status) and routes
// between views on the URL hash, so the server serves one page and reloads keep the view.

import { Api, describeError } from './api.js';
import { ConsoleContext, type View, type ViewFactory } from './context.js';
import { cacheView } from './cache.js';
import { deadLetterOverview, deadLettersView } from './dead-letters.js';
import { h } from './dom.js';
import { eventsView } from './events.js';
import { limitsView } from './limits.js';
import { Live } from './live.js';
import { locksView } from './locks.js';
import { orderBookView } from './orderbook.js';
import { redisView } from './redis.js';
import { streamView } from './stream.js';
import { streamsView } from './streams.js';
import { throughputView } from './throughput.js';
import type { ConsoleSessionBody, ConsoleView } from './types.js';

interface NavItem {
  /** First segment of the route. */
  route: string;
  label: string;
  /** The `session.views` entry that makes it available. */
  needs: ConsoleView;
  /** The view for the route and its parameters. */
  view: (params: string[]) => ViewFactory;
}

const NAV: NavItem[] = [
  {
    route: 'streams',
    label: 'Streams',
    needs: 'streams',
    view: (p) => (p.length ? streamView : streamsView),
  },
  {
    route: 'dead-letters',
    label: 'Dead letters',
    needs: 'streams',
    view: (p) => (p.length ? deadLettersView : deadLetterOverview),
  },
  { route: 'throughput', label: 'Throughput', needs: 'streams', view: () => throughputView },
  { route: 'events', label: 'Live tail', needs: 'events', view: () => eventsView },
  { route: 'locks', label: 'Locks', needs: 'locks', view: () => locksView },
  { route: 'limits', label: 'Rate limits', needs: 'limits', view: () => limitsView },
  { route: 'cache', label: 'Cache', needs: 'cache', view: () => cacheView },
  { route: 'redis', label: 'Redis', needs: 'redis', view: () => redisView },
  { route: 'orderbook', label: 'Order book', needs: 'orderbook', view: () => orderBookView },
];

function readBase(): string {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="redkit-console"]');
  try {
    const config = JSON.parse(meta?.content ?? '{}') as { base?: unknown };
    if (typeof config.base === 'string') return config.base.replace(/\/+$/, '');
  } catch {
    // fall through to the default mount path
  }
  return '/console';
}

/** The root every view is drawn in: the server's `#app` when its page has one, else the body. */
function root(): HTMLElement {
  return document.getElementById('app') ?? document.body;
}

/**
 * The tab's icon, inline (the CSP allows `data:` images): without one the browser asks the app for
 * /favicon.ico, which is not the console's to answer, and logs the 404.
 */
function setIcon(): void {
  if (document.querySelector('link[rel~="icon"]') !== null) return;
  const svg =
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'><rect width='16' height='16' rx='3' fill='%23b3261e'/>" +
    "<path d='M5 12V4h3.5a2.5 2.5 0 0 1 0 5H5m3.5 0L11 12' stroke='white' stroke-width='1.6' fill='none'/></svg>";
  document.head.append(h('link', { rel: 'icon', href: `data:image/svg+xml,${svg}` }));
}

async function start(): Promise<void> {
  setIcon();
  const api = new Api(readBase());
  let session: ConsoleSessionBody;
  try {
    session = await api.get<ConsoleSessionBody>('session');
  } catch (error) {
    root().replaceChildren(
      h(
        'main',
        { class: 'fatal' },
        h('h1', null, 'redkit console'),
        h('p', { class: 'error' }, `Could not reach the console API: ${describeError(error)}`),
      ),
    );
    return;
  }
  api.setCsrfToken(session.csrfToken);
  if (session.auth === 'api-key' && !session.authenticated) {
    showLogin(api);
    return;
  }
  api.onUnauthorized(() => location.reload());
  showConsole(api, session);
}

function showLogin(api: Api): void {
  const key = h('input', {
    id: 'api-key',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    { class: 'login panel' },
    h('h1', null, 'redkit console'),
    h('p', { class: 'field' }, h('label', { for: 'api-key' }, 'API key'), key),
    error,
    h('p', null, h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    api
      .post('login', { apiKey: key.value })
      .then(() => location.reload())
      .catch((failure: unknown) => {
        error.textContent = describeError(failure);
        key.select();
      });
  });
  root().replaceChildren(h('main', { id: 'main' }, form));
  key.focus();
}

function showConsole(api: Api, session: ConsoleSessionBody): void {
  const status = h('p', { class: 'live-status', role: 'status', id: 'live-status' });
  const live = new Live(api.url('live'), status);
  const context = new ConsoleContext(api, live, session);
  const available = NAV.filter((item) => session.views.includes(item.needs));
  const links = new Map<string, HTMLAnchorElement>();
  const nav = h(
    'nav',
    { 'aria-label': 'Views' },
    h(
      'ul',
      null,
      available.map((item) => {
        const link = h('a', { href: `#/${item.route}` }, item.label);
        links.set(item.route, link);
        return h('li', null, link);
      }),
    ),
  );
  const main = h('main', { id: 'main', tabindex: -1 });
  const skip = h('a', { class: 'skip', href: '#main' }, 'Skip to content');
  skip.addEventListener('click', (event) => {
    event.preventDefault();
    main.focus();
  });
  // A logout holds on every instance; "everywhere" also ends the sessions of other browsers.
  const signOut = (label: string, body: object, question?: string) => {
    if (session.auth !== 'api-key') return null;
    const button = h('button', { type: 'button', class: 'link' }, label);
    button.addEventListener('click', () => {
      if (question === undefined || confirm(question))
        void api.post('logout', body).finally(() => location.reload());
    });
    return button;
  };
  const logout = signOut('Sign out', {});
  const logoutEverywhere = signOut(
    'Sign out everywhere',
    { everywhere: true },
    'Sign out every session of this console, in every browser?',
  );
  const header = h(
    'header',
    { class: 'top' },
    h('h1', null, h('a', { href: `#/${available[0]?.route ?? ''}` }, 'redkit console')),
    h(
      'p',
      { class: 'badges' },
      h(
        'span',
        {
          class: session.mode === 'operate' ? 'badge operate' : 'badge',
          title: session.mode === 'operate' ? 'Actions are enabled' : 'Actions are disabled',
        },
        session.mode,
      ),
      session.production ? h('span', { class: 'badge production' }, 'production') : null,
    ),
    status,
    logout,
    logoutEverywhere,
  );
  root().replaceChildren(skip, header, h('div', { class: 'layout' }, nav, main), ...context.regions());

  let current: View | undefined;
  let first = true;
  const navigate = () => {
    const hash = location.hash;
    if (!hash.startsWith('#/')) {
      if (hash === '' || current === undefined) location.replace(`#/${available[0]?.route ?? 'redis'}`);
      return;
    }
    const [name = '', ...params] = hash
      .slice(2)
      .split('/')
      .map((part) => {
        try {
          return decodeURIComponent(part);
        } catch {
          return part;
        }
      });
    const item = available.find((candidate) => candidate.route === name);
    current?.destroy();
    context.clearNotices();
    if (item === undefined) {
      current = undefined;
      main.replaceChildren(
        h(
          'section',
          { class: 'view' },
          h('h2', { id: 'view-title', tabindex: -1 }, 'Not here'),
          h('p', null, 'This view does not exist or this app does not have it.'),
        ),
      );
    } else {
      current = item.view(params)(context, params);
      main.replaceChildren(current.element);
    }
    for (const [route, link] of links) {
      if (route === name) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    const title = main.querySelector('h2')?.textContent ?? '';
    document.title = `${title ? `${title} · ` : ''}redkit console`;
    // After a click in the navigation, move focus to the new view's heading (not on first load).
    if (!first) main.querySelector<HTMLElement>('#view-title')?.focus();
    first = false;
  };
  window.addEventListener('hashchange', navigate);
  navigate();
  live.start();
}

void start();
