import { describe, expect, it } from '@jest/globals';

import { RedisPermissionError } from '../redis.errors.js';
import { asPermissionError } from './permission-error.js';

const reply = (message: string) => new Error(message);

describe('asPermissionError', () => {
  it('names the refused command and the rule that grants it', () => {
    const error = asPermissionError(
      'cache',
      reply("NOPERM User app has no permissions to run the 'get' command"),
    );
    expect(error).toBeInstanceOf(RedisPermissionError);
    expect(error).toMatchObject({ module: 'cache', refused: 'run GET', rule: '+get' });
  });

  it("reads Redis 7.2's named key and channel refusals and Redis 7.0's unnamed ones", () => {
    expect(
      asPermissionError('lock', reply("NOPERM User app has no permissions to access the 'other:k' key")),
    ).toMatchObject({ refused: 'access the key "other:k"', rule: '~<keyPrefix>:*' });
    expect(
      asPermissionError(
        'lock',
        reply('NOPERM this user has no permissions to access one of the keys used as arguments'),
      ),
    ).toMatchObject({ refused: 'access a key of the command', rule: '~<keyPrefix>:*' });
    expect(
      asPermissionError(
        'messaging',
        reply("NOPERM User app has no permissions to access the 'order.*' channel"),
      ),
    ).toMatchObject({ refused: 'use the channel "order.*"', rule: '&<keyPrefix>:*' });
    expect(
      asPermissionError(
        'messaging',
        reply('NOPERM this user has no permissions to access one of the channels used as arguments'),
      ),
    ).toMatchObject({ refused: 'use a channel of the command', rule: '&<keyPrefix>:*' });
  });

  it('names every command of a script when Redis does not say which one it refused', () => {
    const error = asPermissionError(
      'rate-limit',
      reply("ERR The user executing the script can't run this command or subcommand script: abc"),
      { name: 'ratelimit_log', commands: ['zadd', 'time'] },
    );
    expect(error).toMatchObject({ rule: '+zadd +time' });
    expect(error?.refused).toBe('run a command of script ratelimit_log (it runs ZADD, TIME)');
  });

  it('leaves any other error alone', () => {
    expect(asPermissionError('cache', reply('WRONGTYPE Operation against a key'))).toBeUndefined();
    expect(asPermissionError('cache', 'not an error')).toBeUndefined();
  });
});
