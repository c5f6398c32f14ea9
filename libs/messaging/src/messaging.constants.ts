/** Method metadata written by `@OnEvent`: `{ pattern, leaderOnly }` of each decorator on the method, in source order. */
export const ON_EVENT_METADATA = 'REDKIT:MESSAGING:ON_EVENT';

/** Method metadata written by `@StreamHandler`: every consumer declared on the method. */
export const STREAM_HANDLER_METADATA = 'REDKIT:MESSAGING:STREAM_HANDLER';

/** The key module name: every key and channel is `<keyPrefix>:messaging:...`. */
export const MESSAGING_KEY_MODULE = 'messaging';

/** Method metadata written by `@PollWhileDisconnected`: its options. */
export const POLL_WHILE_DISCONNECTED_METADATA = 'REDKIT:MESSAGING:POLL_WHILE_DISCONNECTED';
