import { describe, expect, it } from '@jest/globals';

import { CommandDeadlines } from './command-deadlines.js';

function fakeCommand() {
  const command = {
    isResolved: false,
    error: undefined as Error | undefined,
    _commandTimeoutTimer: undefined as unknown,
    reject(error: Error) {
      command.error = error;
      command.isResolved = true;
    },
  };
  return command;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('CommandDeadlines', () => {
  it('rejects an unanswered command with "Command timed out" once its deadline passes', async () => {
    const deadlines = new CommandDeadlines(30);
    const command = fakeCommand();
    deadlines.track(command);
    await sleep(120);
    expect(command.error?.message).toBe('Command timed out');
  });

  it('leaves answered commands alone, including those behind a slow one', async () => {
    const deadlines = new CommandDeadlines(30);
    const slow = fakeCommand();
    const answered = fakeCommand();
    deadlines.track(slow);
    deadlines.track(answered);
    answered.isResolved = true;
    await sleep(120);
    expect(slow.error?.message).toBe('Command timed out');
    expect(answered.error).toBeUndefined();
  });

  it('takes the place of the per-command timer, so ioredis does not arm its own', () => {
    const deadlines = new CommandDeadlines(1_000);
    const command = fakeCommand();
    deadlines.track(command);
    expect(command._commandTimeoutTimer).toBeDefined();
    command.isResolved = true;
  });
});
