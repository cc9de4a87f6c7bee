/**
 * Chooses and opens the stores: MongoDB when MONGODB_URI is set (shared with the CAIPE UI and
 * across replicas), otherwise the embedded SQLite file under DATA_DIR (shared only by processes
 * on one host).
 */
import type { Clock } from '../../clock.js';
import { systemClock } from '../../clock.js';
import type { Logger } from '../../logger.js';
import { EmbeddedStoreError, EmbeddedStores } from './embedded.js';
import { MongoStores, type MongoTimeouts } from './mongo.js';
import type {
  ActiveRooms,
  ConversationStore,
  EventClaims,
  LeaseStore,
  NoticeLog,
  OwnPostEchoes,
  PendingMessages,
  SpaceRegistry,
} from './ports.js';

export interface Stores {
  spaces: SpaceRegistry;
  conversations: ConversationStore;
  claims: EventClaims;
  /** Recently active rooms, for the REST catch-up after a restart. */
  rooms: ActiveRooms;
  /** Once-a-day notices to people who may not use the bot. */
  notices: NoticeLog;
  /** The bot's own posts seen on the socket, for the takeover of a running answer. */
  echoes: OwnPostEchoes;
  /** Messages claimed and not yet started, so a crash in between is not silent. */
  pending: PendingMessages;
  /** Who owns a running answer or a form wait, and which processes are alive. */
  leases: LeaseStore;
  kind: 'mongodb' | 'embedded';
  /**
   * Resolves when the store answers, rejects otherwise (for `/readyz`); bounded in time. The
   * embedded store also writes, so readiness fails while writes fail.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Where the stores live (`MONGODB_URI`, `MONGODB_DATABASE`, `DATA_DIR`). */
export interface StoreLocation {
  mongodbUri?: string | undefined;
  mongodbDatabase: string;
  dataDir: string;
}

export interface OpenStoresDeps {
  log: Logger;
  clock?: Clock;
  /** MongoDB server-selection timeout; 5 s by default (tests shorten it). */
  mongoServerSelectionTimeoutMS?: number;
  /** Bounds of every MongoDB call (`MONGO_TIMEOUTS` by default; tests shorten them). */
  mongoTimeouts?: Partial<MongoTimeouts>;
  /** Recorded with each event claim (`INSTANCE_ID`, else the host name). */
  owner?: string;
}

const PING_TIMEOUT_MS = 2_000;

/**
 * Never fails because MongoDB is unreachable: the bot starts, `ping` rejects (readiness reports
 * it), space lookups fail closed, and everything recovers when MongoDB answers. Throws only when
 * the embedded file cannot be opened or is damaged (`EmbeddedStoreError`: a local problem the
 * operator must fix; start-up stops with exit code 78).
 */
export async function openStores(config: StoreLocation, deps: OpenStoresDeps): Promise<Stores> {
  const clock = deps.clock ?? systemClock;
  const log = deps.log.child({ component: 'store' });
  if (config.mongodbUri) {
    const stores = new MongoStores({
      uri: config.mongodbUri,
      database: config.mongodbDatabase,
      log: deps.log,
      clock,
      serverSelectionTimeoutMS: deps.mongoServerSelectionTimeoutMS,
      timeouts: deps.mongoTimeouts,
      owner: deps.owner,
    });
    stores.startIndexing();
    log.info({ database: config.mongodbDatabase }, 'using the MongoDB store');
    return {
      ...storeSet(stores, 'mongodb'),
      ping: () => withTimeout(stores.ping(), PING_TIMEOUT_MS, clock, 'MongoDB did not answer a ping'),
    };
  }
  const stores = new EmbeddedStores({ dataDir: config.dataDir, log: deps.log, clock, owner: deps.owner });
  log.info({ file: stores.file }, 'using the embedded store');
  log.warn(
    'no MONGODB_URI: group spaces can be authorized only through the admin API (ADMIN_API_TOKEN); ' +
      'the "Connect to CAIPE" card needs the MongoDB shared with the CAIPE UI',
  );
  return embeddedStoreSet(stores);
}

/** The runtime's view of an embedded store file (tests that open one themselves use it too). */
export function embeddedStoreSet(stores: EmbeddedStores): Stores {
  return storeSet(stores, 'embedded');
}

/** One adapter's stores as the runtime sees them. */
function storeSet(stores: EmbeddedStores | MongoStores, kind: Stores['kind']): Stores {
  return {
    spaces: stores.spaces,
    conversations: stores.conversations,
    claims: stores.claims,
    rooms: stores.rooms,
    notices: stores.notices,
    echoes: stores.echoes,
    pending: stores.pending,
    leases: stores.leases,
    kind,
    ping: () => stores.ping(),
    close: () => stores.close(),
  };
}

/** The `/readyz` reason for a failed `ping`. */
export function storeReadinessReason(error: unknown): string {
  return error instanceof EmbeddedStoreError && error.reason === 'writes-failing'
    ? 'store writes failing'
    : 'store not answering';
}

function withTimeout<T>(work: Promise<T>, ms: number, clock: Clock, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const handle = clock.setTimeout(() => reject(new Error(message)), ms);
    work.then(
      (value) => {
        clock.clearTimeout(handle);
        resolve(value);
      },
      (error: unknown) => {
        clock.clearTimeout(handle);
        reject(error);
      },
    );
  });
}
