/**
 * What the connection machine knows of Webex: the service catalog, the device, a raw activity and
 * the bot's own ids. The Webex adapters produce these (and re-export them); the machine only
 * carries them, so it imports no adapter.
 */

export interface ServiceCatalog {
  /** WDM base, e.g. `https://wdm-a.wbx2.com/wdm/api/v1` (or the `WEBEX_WDM_URL` override). */
  wdmUrl: string;
  /** Every `serviceLinks` entry, for diagnostics. */
  serviceLinks: Record<string, string>;
  /**
   * Host → Hydra cluster string (`us`, `urn:TEAM:eu-central-1_k`), from `hostCatalog`: its keys and
   * every entry's `host`.
   */
  hostClusters: Record<string, string>;
}

export interface WdmDevice {
  /** The device URL: its identity for refresh and delete. */
  url: string;
  webSocketUrl: string;
  /** The bot's own UUID; equals `actor.id` of the bot's own activities. */
  userId: string;
  name?: string;
  creationTime?: string;
  modificationTime?: string;
}

export type RawActivity = Record<string, unknown>;

export interface BotSelf {
  /** The WDM device's `userId` (the bot's UUID). */
  userId: string;
  /** Hydra PEOPLE id from `people/me`. */
  personId: string;
}
