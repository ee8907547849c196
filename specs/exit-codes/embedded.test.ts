import { providerMatrix } from './matrix.ts';

// The exit-code matrix under the embedded provider (see matrix.ts).
providerMatrix('embedded');
