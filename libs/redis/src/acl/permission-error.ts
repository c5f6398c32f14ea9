import { RedisPermissionError } from '../redis.errors.js';

const REFUSED_COMMAND = /no permissions to run the '([^']+)' command/;
const REFUSED_KEY = /no permissions to access the '([^']*)' key/;
const REFUSED_CHANNEL = /no permissions to access the '([^']*)' channel/;
// Redis 7.0 does not name the key or channel.
const REFUSED_SOME_KEY = /no permissions to access one of the keys used as arguments/;
const REFUSED_SOME_CHANNEL = /no permissions to access one of the channels used as arguments/;
const REFUSED_IN_SCRIPT = /The user executing the script can't run this command or subcommand/;

/** The module a script belongs to, from its `<module>_<what>` name. */
const SCRIPT_MODULES: Record<string, string> = {
  ratelimit: 'rate-limit',
  rwlock: 'lock',
  semaphore: 'lock',
  leader: 'lock',
};

export function scriptModule(scriptName: string): string {
  const head = scriptName.split('_')[0] ?? scriptName;
  return SCRIPT_MODULES[head] ?? head;
}

/**
 * `error` as a {@link RedisPermissionError} of `module` when Redis refused it for the ACL user, or
 * undefined for any other error. `script`: the script whose run failed (Redis does not say which of
 * its commands was refused, so the error names them all).
 */
export function asPermissionError(
  module: string,
  error: unknown,
  script?: { readonly name: string; readonly commands: readonly string[] },
): RedisPermissionError | undefined {
  const message = error instanceof Error ? error.message : '';
  const command = REFUSED_COMMAND.exec(message)?.[1];
  if (command !== undefined)
    return new RedisPermissionError(module, `run ${command.toUpperCase()}`, `+${command}`, { cause: error });
  const key = REFUSED_KEY.exec(message)?.[1];
  if (key !== undefined)
    return new RedisPermissionError(module, `access the key "${key}"`, '~<keyPrefix>:*', { cause: error });
  if (REFUSED_SOME_KEY.test(message))
    return new RedisPermissionError(module, 'access a key of the command', '~<keyPrefix>:*', {
      cause: error,
    });
  const channel = REFUSED_CHANNEL.exec(message)?.[1];
  if (channel !== undefined)
    return new RedisPermissionError(module, `use the channel "${channel}"`, '&<keyPrefix>:*', {
      cause: error,
    });
  if (REFUSED_SOME_CHANNEL.test(message))
    return new RedisPermissionError(module, 'use a channel of the command', '&<keyPrefix>:*', {
      cause: error,
    });
  if (script !== undefined && REFUSED_IN_SCRIPT.test(message)) {
    return new RedisPermissionError(
      module,
      `run a command of script ${script.name} (it runs ${script.commands.join(', ').toUpperCase()})`,
      script.commands.map((each) => `+${each}`).join(' '),
      { cause: error },
    );
  }
  return undefined;
}
