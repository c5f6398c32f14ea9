import { sendRawCommand } from './raw-command.js';

/**
 * The names of the clients connected to the server at `url` (CLIENT LIST; '' for an unnamed one),
 * asked on a raw connection of its own, so no client library is left reconnecting afterwards.
 */
export async function clientNames(url: string): Promise<string[]> {
  const { hostname, port } = new URL(url);
  const list = await sendRawCommand({ host: hostname, port: Number(port), timeoutMs: 2_000 }, [
    'CLIENT',
    'LIST',
  ]);
  return [...(list ?? '').matchAll(/ name=(\S*)/g)].map((match) => match[1] as string);
}
