import { providerMatrix } from './matrix.ts';

// The exit-code matrix under the external provider (see matrix.ts).
providerMatrix('external');
