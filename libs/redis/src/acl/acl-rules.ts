import type { RedisClient } from '../redis-client.js';
import { RedisKitError } from '../redis.errors.js';
import { manifestChannels, manifestCommands, type RedisAclManifest } from './acl-manifest.js';

/**
 * Commands in Redis 7's `@dangerous` or `@admin` categories (`ACL CAT dangerous`, `ACL CAT admin`):
 * no manifest may need one, and `redkit acl` refuses to print a rule that grants one.
 */
export const DANGEROUS_COMMANDS: ReadonlySet<string> = new Set(
  `pfdebug failover pfselftest slowlog|get slowlog|reset slowlog|len slaveof sync flushall sort save
  replconf flushdb migrate restore lastsave psync monitor latency|histogram latency|graph
  latency|history latency|latest latency|doctor latency|reset restore-asking swapdb shutdown info keys
  module|list module|load module|loadex module|unload sort_ro config|resetstat config|get
  config|rewrite config|set debug bgrewriteaof bgsave cluster|meet cluster|slaves cluster|replicas
  cluster|bumpepoch cluster|setslot cluster|delslotsrange cluster|reset cluster|addslots
  cluster|saveconfig cluster|failover cluster|count-failure-reports cluster|delslots cluster|flushslots
  cluster|forget cluster|set-config-epoch cluster|addslotsrange cluster|replicate replicaof role
  acl|dryrun acl|save acl|deluser acl|list acl|users acl|log acl|load acl|setuser acl|getuser
  client|kill client|unblock client|list client|unpause client|no-evict client|pause`.split(/\s+/),
);

/** What `redkit acl` builds a user's rules from. */
export interface AclUserSpec {
  /** The connection's keyPrefix: every key and channel of the modules starts with `<prefix>:`. */
  prefix: string;
  /** The ACL user's name. */
  user: string;
  /** The modules' manifests; the connection's own (`redisAclManifest`) is always added. */
  manifests: readonly RedisAclManifest[];
  /** `module.option=value` for commands only an option needs, e.g. `cache.invalidation=tracking`. */
  options?: readonly string[];
}

const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/** The commands and channel patterns the user needs; throws if a manifest asks for a dangerous command. */
export function aclUserRules(
  spec: AclUserSpec,
  base: RedisAclManifest,
): { commands: string[]; channels: string[] } {
  if (!NAME.test(spec.prefix)) {
    throw new RedisKitError(
      `redkit acl: --prefix must be 1-128 of A-Z a-z 0-9 _ . : - (no glob characters), got ${JSON.stringify(spec.prefix)}`,
    );
  }
  if (!NAME.test(spec.user)) {
    throw new RedisKitError(
      `redkit acl: --user must be 1-128 of A-Z a-z 0-9 _ . : -, got ${JSON.stringify(spec.user)}`,
    );
  }
  const manifests = [base, ...spec.manifests];
  const commands = manifestCommands(manifests, spec.options);
  const dangerous = commands.filter((command) => DANGEROUS_COMMANDS.has(command));
  if (dangerous.length > 0)
    throw new RedisKitError(`redkit acl: --modules would grant dangerous commands: ${dangerous.join(', ')}`);
  return { commands, channels: [`${spec.prefix}:*`, ...manifestChannels(manifests, spec.options)] };
}

/**
 * The `ACL SETUSER` arguments that give `spec.user` exactly what the modules need: its key and
 * channel rules reset to `~<prefix>:*` and `&<prefix>:*`, its commands reset to `-@all` plus each
 * needed one. Passwords are left as they are (add one with `ACL SETUSER <user> ><password>`).
 */
export function aclSetUserArguments(spec: AclUserSpec, base: RedisAclManifest): string[] {
  const { commands, channels } = aclUserRules(spec, base);
  return [
    spec.user,
    'on',
    'resetkeys',
    `~${spec.prefix}:*`,
    'resetchannels',
    ...channels.map((channel) => `&${channel}`),
    '-@all',
    ...commands.map((command) => `+${command}`),
  ];
}

/** Arguments for `ACL DRYRUN <user> <command> ...` that name only keys and channels under the prefix. */
function dryRunArguments(command: string, placeholder: string, arity: number, prefix: string): string[] {
  const words = command.split('|');
  // Redis matches a PSUBSCRIBE pattern literally against the user's channel patterns.
  if (words[0] === 'psubscribe') return ['psubscribe', `${prefix}:*`];
  if (words[0] === 'eval' || words[0] === 'evalsha') return [...words, 'return 1', '1', placeholder];
  if (words[0] === 'scan') return ['scan', '0'];
  const count = Math.max(Math.abs(arity) - 1 - (words.length - 1), 0);
  return [...words, ...Array.from({ length: count }, () => placeholder)];
}

/** One command or channel the deployed user lacks, and the rule that grants it. */
export interface AclShortfall {
  readonly what: string;
  readonly reason: string;
  readonly rule: string;
}

/**
 * Checks a deployed user against what the modules need, with `ACL DRYRUN` on `admin` (a connection
 * allowed to run it): every command with a key and a channel under the prefix. Resolves with what
 * is missing (empty when the user has all it needs).
 */
export async function checkAclUser(
  admin: RedisClient,
  spec: AclUserSpec,
  base: RedisAclManifest,
): Promise<AclShortfall[]> {
  const { commands, channels } = aclUserRules(spec, base);
  const placeholder = `${spec.prefix}:redkit-acl-check`;
  const missing: AclShortfall[] = [];
  for (const command of commands) {
    const [name, sub] = command.split('|') as [string, string | undefined];
    const info = (await admin.call('COMMAND', 'INFO', sub === undefined ? name : `${name}|${sub}`)) as Array<
      [string, number] | null
    >;
    const arity = info[0]?.[1] ?? -1;
    const args = dryRunArguments(command, placeholder, arity, spec.prefix);
    const answer = await admin
      .call('ACL', 'DRYRUN', spec.user, ...args)
      .catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
    if (answer !== 'OK') missing.push({ what: command, reason: String(answer), rule: `+${command}` });
  }
  for (const channel of channels) {
    const name = channel.endsWith('*') ? `${channel.slice(0, -1)}redkit-acl-check` : channel;
    const answer = await admin
      .call('ACL', 'DRYRUN', spec.user, 'subscribe', name)
      .catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
    // SUBSCRIBE is in every user's rules (the connection's own manifest): only the channel can fail.
    if (answer !== 'OK' && String(answer).includes('channel'))
      missing.push({ what: `channel ${channel}`, reason: String(answer), rule: `&${channel}` });
  }
  return missing;
}
