import { MemoryGrantStore } from '../../src/store/memory-store.js';
import { grantStoreContract } from './grant-store.contract.js';

grantStoreContract('MemoryGrantStore', async () => new MemoryGrantStore());
