#!/usr/bin/env tsx
// The demo CLI's entry: `pnpm tsx scripts/demo/trusted-compute.ts …` runs the
// sources; `pnpm demo:trusted-compute` runs a bundle of ./cli.ts through
// launch.mjs (ADR 0020, 0039). The commands are in ./cli.ts.
import { main } from './cli.js';

process.exitCode = await main(process.argv.slice(2));
