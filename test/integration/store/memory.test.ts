import {
  MemoryActiveRooms,
  MemoryConversationStore,
  MemoryEventClaims,
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
    close: async () => {},
  }),
  // The memory adapters keep no retention, expire claims on their own monotonic timer, and
  // answer a lookup with the first id form that has an entry.
  { claimsFollowClock: false, prefersActiveAcrossForms: false },
);
