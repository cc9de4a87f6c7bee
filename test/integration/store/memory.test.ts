import {
  MemoryActiveRooms,
  MemoryConversationStore,
  MemoryEventClaims,
  MemoryLeases,
  MemoryNoticeLog,
  MemoryOwnPostEchoes,
  MemoryPendingMessages,
  MemorySpaceRegistry,
} from '../../../src/adapters/store/memory.js';
import { describeStoreContract } from './contract.js';

describeStoreContract(
  'memory',
  async ({ clock }) => ({
    spaces: new MemorySpaceRegistry(clock),
    conversations: new MemoryConversationStore(),
    claims: new MemoryEventClaims(),
    rooms: new MemoryActiveRooms(),
    notices: new MemoryNoticeLog(),
    echoes: new MemoryOwnPostEchoes(),
    pending: new MemoryPendingMessages(clock),
    leases: new MemoryLeases(),
    close: async () => {},
  }),
  // The memory adapters keep no retention and expire claims on their own monotonic timer.
  { claimsFollowClock: false },
);
