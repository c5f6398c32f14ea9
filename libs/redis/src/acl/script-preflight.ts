import type { RedisClient } from '../redis-client.js';
import { allDefinedScripts, defineScript, setPendingPreflight, setRefusedScripts } from '../redis-script.js';

/**
 * The commands of ARGV the connection's ACL user may not run. Redis runs a script up to a refused
 * command and keeps what it wrote before, so a connection asks this once per connect and refuses
 * such scripts itself rather than half-apply them.
 */
const preflightScript = defineScript<string[], string[]>({
  name: 'redis_acl_preflight',
  numberOfKeys: 1,
  lua: `
-- KEYS[1]: a key under the connection's prefix; never read or written, only the stand-in for every
--   argument of the checked commands.
-- ARGV: commands as ACL rules name them ('get', 'xgroup|create').
-- Returns: those the connection's user may not run (redis.acl_check_cmd, Redis 7.0+; a command
-- this server does not know, or a server without acl_check_cmd, counts as allowed).
local denied = {}
for i = 1, #ARGV do
  local parts = {}
  for part in string.gmatch(ARGV[i], '[^|]+') do parts[#parts + 1] = part end
  -- acl_check_cmd does not check arity: called with fewer arguments than the command takes, Redis
  -- 7.0 reads past them when it looks for keys and can crash. Every argument stands for a key or
  -- channel the user may use, so only the command itself can be refused.
  while #parts < 12 do parts[#parts + 1] = KEYS[1] end
  local ok, allowed = pcall(redis.acl_check_cmd, unpack(parts))
  if ok and not allowed then denied[#denied + 1] = ARGV[i] end
end
return denied
`,
});

/**
 * Asks the server which commands of the scripts defined so far `client`'s ACL user lacks, and has
 * every script that runs one refused before it is sent (a `RedisPermissionError` naming what to
 * grant). Returns the lacking commands by script. Never throws: a preflight that fails (timeout,
 * EVAL refused) leaves the scripts as they were.
 */
export async function preflightScripts(
  client: RedisClient,
  keyPrefix: string,
): Promise<ReadonlyMap<string, readonly string[]>> {
  const scripts = allDefinedScripts();
  const commands = [...new Set(scripts.flatMap((script) => script.commands))];
  if (commands.length === 0) return new Map();
  // Sent before the marker is set, so it does not wait for itself; every script after it waits.
  const running = preflightScript.run(client, [`${keyPrefix}:acl-preflight`], commands);
  const done = running.then(
    () => undefined,
    () => undefined,
  );
  setPendingPreflight(client, done);
  let denied: string[];
  try {
    denied = await running;
  } catch {
    setPendingPreflight(client, undefined, done);
    return new Map();
  }
  const lacking = new Set(denied);
  const refused = new Map<string, readonly string[]>();
  for (const script of scripts) {
    const missing = script.commands.filter((command) => lacking.has(command));
    if (missing.length > 0) refused.set(script.name, missing);
  }
  setRefusedScripts(client, refused);
  setPendingPreflight(client, undefined, done);
  return refused;
}
