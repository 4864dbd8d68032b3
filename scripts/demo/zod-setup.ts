// Imported first by the demo CLI, before any module builds a schema (zod reads
// this when a schema is made). zod compiles a parser for each object schema with
// `new Function` on its first parse; a CLI run parses each schema a few times,
// so compiling costs more than it saves (issue 10: about a tenth of a happy
// run's own CPU time). jitless parses the same inputs to the same results.
import { config } from 'zod';

config({ jitless: true });
