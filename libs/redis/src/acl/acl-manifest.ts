import { allDefinedScripts } from '../redis-script.js';

/**
 * What one redkit module sends to Redis at run time, for a least-privilege ACL user: the commands
 * it sends itself, the scripts it runs (whose commands are read from their Lua, so the list follows
 * the code), and what an option adds. Every key a module touches starts with the connection's
 * `keyPrefix` and every channel too, so its key and channel rules are `~<prefix>:*` and `&<prefix>:*`.
 */
export interface RedisAclManifest {
  /** The module as `redkit acl --modules` names it: `cache`, `rate-limit`, ... */
  readonly module: string;
  /** Commands the module sends itself, as ACL rules name them: `get`, `xinfo|groups`. */
  readonly commands: readonly string[];
  /** Whether a script (by its `<module>_<what>` name) belongs to the module. */
  readonly ownsScript: (name: string) => boolean;
  /** Commands (and channels outside the prefix) needed only with an option, by `option=value`. */
  readonly options?: Readonly<Record<string, RedisAclOption>>;
}

/** What one option adds to a module's manifest. */
export interface RedisAclOption {
  /** What the option is, for the CLI's help. */
  readonly description: string;
  readonly commands: readonly string[];
  /** Channels outside `<prefix>:*`, e.g. `__redis__:invalidate`. */
  readonly channels?: readonly string[];
}

/** The commands of the scripts `manifest` owns, among those defined in this process. */
export function manifestScriptCommands(manifest: RedisAclManifest): string[] {
  const commands = new Set<string>();
  for (const script of allDefinedScripts()) {
    if (manifest.ownsScript(script.name)) for (const command of script.commands) commands.add(command);
  }
  return [...commands];
}

/**
 * Every command `manifests` need, with `options` (`module.option=value`, e.g.
 * `cache.invalidation=tracking`) applied; sorted. Scripts add EVALSHA and EVAL (the NOSCRIPT
 * fallback) through the connection's own manifest.
 */
export function manifestCommands(
  manifests: readonly RedisAclManifest[],
  options: readonly string[] = [],
): string[] {
  const commands = new Set<string>();
  for (const manifest of manifests) {
    for (const command of manifest.commands) commands.add(command);
    for (const command of manifestScriptCommands(manifest)) commands.add(command);
    for (const option of selectedOptions(manifest, options))
      for (const command of option.commands) commands.add(command);
  }
  return [...commands].sort();
}

/** Channels outside the prefix that `manifests` need with `options`. */
export function manifestChannels(
  manifests: readonly RedisAclManifest[],
  options: readonly string[] = [],
): string[] {
  const channels = new Set<string>();
  for (const manifest of manifests) {
    for (const option of selectedOptions(manifest, options))
      for (const channel of option.channels ?? []) channels.add(channel);
  }
  return [...channels].sort();
}

function selectedOptions(manifest: RedisAclManifest, options: readonly string[]): RedisAclOption[] {
  const selected: RedisAclOption[] = [];
  for (const option of options) {
    const dot = option.indexOf('.');
    if (option.slice(0, dot) !== manifest.module) continue;
    const found = manifest.options?.[option.slice(dot + 1)];
    if (found !== undefined) selected.push(found);
  }
  return selected;
}
