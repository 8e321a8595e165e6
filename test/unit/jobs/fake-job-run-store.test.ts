/** The in-memory job run store keeps the store contract. */
import { FakeJobRunStore } from '../../../server/jobs/fake-job-run-store.js';
import { jobRunStoreContract } from '../../contract/job-run-store.contract.js';

jobRunStoreContract('in-memory fake', async () => new FakeJobRunStore());
