import type { TrustProxy } from './rate-limit-options.interface.js';

/** `::ffff:1.2.3.4` -> `1.2.3.4`; other addresses as they are, trimmed. */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim();
  return trimmed.startsWith('::ffff:') && trimmed.includes('.') ? trimmed.slice(7) : trimmed;
}

/**
 * The client's address, believing `X-Forwarded-For` only as far as `trustProxy` says. The header's
 * addresses are read right to left, the order in which proxies appended them, so a client cannot
 * choose its address by sending the header itself unless every hop is trusted (`true`).
 *
 * @param socketAddress the TCP peer (the last proxy, or the client itself)
 * @param forwardedFor the raw `X-Forwarded-For` header(s)
 */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  trustProxy: TrustProxy,
): string {
  const peer = normalizeAddress(socketAddress ?? '') || 'unknown';
  if (trustProxy === false || forwardedFor === undefined) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor as string))
    .split(',')
    .map(normalizeAddress)
    .filter((hop) => hop.length > 0);
  if (hops.length === 0) return peer;
  if (trustProxy === true) return hops[0] as string;
  if (typeof trustProxy === 'number') {
    // The peer is the nearest proxy; each further trusted proxy appended the address before it.
    const index = hops.length - trustProxy;
    return index >= 0 ? (hops[index] as string) : (hops[0] as string);
  }
  const trusted = trustProxy as readonly string[];
  if (!trusted.includes(peer)) return peer;
  for (let index = hops.length - 1; index >= 0; index -= 1) {
    const hop = hops[index] as string;
    if (!trusted.includes(hop)) return hop;
  }
  return hops[0] as string;
}
