/** The views the console can show, each needing the redkit lib named beside it (`redis` always). */
export type ConsoleView = 'streams' | 'locks' | 'limits' | 'cache' | 'events' | 'redis' | 'orderbook';
