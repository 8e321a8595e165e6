/** The fake channel store keeps the same contract as the knex store. */
import { describe } from 'vitest';
import { FakeChannelStore } from '../../../server/notifications/channels/fake-channel-store.js';
import { channelStoreContract } from './channel-store.contract.js';

describe('FakeChannelStore', () => {
  channelStoreContract(async () => new FakeChannelStore());
});
