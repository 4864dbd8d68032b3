import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderSchemaFiles } from '../scripts/schema-files.js';

const docs = resolve(import.meta.dirname, '..', 'docs', 'schemas');

describe('committed JSON Schemas', () => {
  for (const [fileName, text] of renderSchemaFiles()) {
    it(`docs/schemas/${fileName} matches its zod schema (run pnpm schemas:generate if not)`, () => {
      expect(readFileSync(join(docs, fileName), 'utf8')).toBe(text);
    });
  }
});
