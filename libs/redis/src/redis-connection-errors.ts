/** How a connection error reads to a person, and whether retrying can ever fix it. */
export interface ConnectionFailure {
  /** Retrying cannot help: wrong credentials or a certificate the client does not trust. */
  fatal: boolean;
  reason: string;
}

const UNTRUSTED_CERTIFICATE = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Classifies an error ioredis emitted while connecting. */
export function describeConnectionFailure(error: unknown): ConnectionFailure {
  const err = error as (Error & { code?: string; lastNodeError?: unknown }) | undefined;
  if (err?.lastNodeError !== undefined) return describeConnectionFailure(err.lastNodeError);
  const message = err?.message ?? String(error);
  const code = err?.code ?? '';
  if (/^(WRONGPASS|NOAUTH|NOPERM)|invalid (username-password|password)/.test(message)) {
    return { fatal: true, reason: `authentication failed (${message}); check username and password` };
  }
  if (UNTRUSTED_CERTIFICATE.has(code)) {
    return {
      fatal: true,
      reason: `TLS certificate rejected (${code}: ${message}); pass tls.ca with the CA that signed the server certificate`,
    };
  }
  if (code.startsWith('ERR_SSL') || /wrong version number|packet length too long/i.test(message)) {
    return {
      fatal: true,
      reason: `TLS handshake failed (${message}); does the server serve TLS on this port?`,
    };
  }
  if (code === 'ECONNREFUSED')
    return { fatal: false, reason: `connection refused (${message}); is Redis running there?` };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return { fatal: false, reason: `host not found (${message})` };
  return { fatal: false, reason: code ? `${code}: ${message}` : message };
}
