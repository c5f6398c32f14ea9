/** Method metadata written by `@OnEvent`: every pattern given on the method, in source order. */
export const ON_EVENT_METADATA = 'REDKIT:MESSAGING:ON_EVENT';

/** Method metadata written by `@StreamHandler`: every consumer declared on the method. */
export const STREAM_HANDLER_METADATA = 'REDKIT:MESSAGING:STREAM_HANDLER';

/** The key module name: every key and channel is `<keyPrefix>:messaging:...`. */
export const MESSAGING_KEY_MODULE = 'messaging';
