#!/usr/bin/env node
import { buildProgram } from './cli/program.js';

// `patgate routes explain ... | head`: a reader that leaves is not a failure of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

await buildProgram().parseAsync(process.argv);
