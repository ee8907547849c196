import { describe, test } from 'vitest';
import { testcontainersProvider } from '../../plugins/postgres/testcontainers.ts';
import { providerMatrix } from './matrix.ts';

// The exit-code matrix under the testcontainers provider (see matrix.ts), where a Docker engine answers.
const docker = await testcontainersProvider.available({});
if (docker.ok) providerMatrix('testcontainers');
else describe('provider testcontainers', () => test.skip(`skipped: ${docker.reason}`, () => {}));
