/** Injection token of the {@link AppConfig} the app was built with. */
export const APP_CONFIG = 'ORDERBOOK_API:CONFIG';
