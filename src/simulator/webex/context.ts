import type { SimClock } from './clock.js';
import type { MercuryHub } from './mercury.js';
import type { SimWorld } from './model.js';
import type { WebexService } from './service.js';

/** Base URLs the simulator answers on; all on one 127.0.0.1 server. */
export interface SimUrls {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** U2C base, for `WEBEX_U2C_URL`. */
  u2c: string;
  /** WDM base (`serviceLinks.wdm`), for `WEBEX_WDM_URL`. */
  wdm: string;
  /** Hydra base ending in `/v1`, for `WEBEX_API_BASE_URL`. */
  hydra: string;
  /** Conversation service base of the US region (`serviceLinks.conversation`). */
  conversation: string;
  /** Client metrics base (`serviceLinks.metrics`), where the Webex JS SDK posts its own metrics. */
  metrics: string;
  /** `ws://127.0.0.1:<port>`; device `webSocketUrl`s start with it. */
  mercury: string;
}

export interface SimContext {
  world: SimWorld;
  service: WebexService;
  hub: MercuryHub;
  clock: SimClock;
  urls: SimUrls;
  maxDevicesPerUser: number;
  /** HTTP status of "User has excessive device registrations" (undocumented by Webex). */
  excessiveDevicesStatus: number;
}
