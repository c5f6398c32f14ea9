import { randomBytes } from 'node:crypto';

/** Headers every console page response carries. */
export interface PageHeaders {
  'Content-Type': string;
  'Content-Security-Policy': string;
  'X-Content-Type-Options': string;
  'Referrer-Policy': string;
  'Cache-Control': string;
  'X-Frame-Options': string;
}

function escapeAttribute(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A fresh nonce per response: 128 random bits. */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * The strict Content-Security-Policy of the page: scripts only with this response's nonce, styles,
 * images and connections only from the console's own origin, no frames, no base, no inline code.
 */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The page: a shell that loads the stylesheet and the page's module script (with the nonce) from
 * `<base>/assets/`, and tells the script its base in `<meta name="redkit-console">`. Everything
 * else is drawn by the script from the JSON API. `base` is the path the page was served at (the
 * app's global prefix included).
 */
export function renderPage(base: string, nonce: string): { html: string; headers: PageHeaders } {
  const root = escapeAttribute(base);
  const meta = escapeAttribute(JSON.stringify({ base }));
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="redkit-console" content='${meta}'>
<title>redkit console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${root}/assets/console.css">
<script type="module" nonce="${escapeAttribute(nonce)}" src="${root}/assets/ui/main.js"></script>
</head>
<body>
<noscript>The redkit console needs JavaScript.</noscript>
<div id="app"></div>
</body>
</html>
`;
  return {
    html,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': contentSecurityPolicy(nonce),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
      'X-Frame-Options': 'DENY',
    },
  };
}
