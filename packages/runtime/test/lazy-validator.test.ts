import { describe, expect, test } from 'vitest';
import { lazyJsonSchemaValidator } from '../src/mcp/lazy-validator.js';

describe('lazyJsonSchemaValidator', () => {
  test('checks a schema as the SDK validator does, once one is asked for', () => {
    const validator = lazyJsonSchemaValidator();
    const check = validator.getValidator<{ a: number }>({ type: 'object', properties: { a: { type: 'number' } }, required: ['a'], additionalProperties: false });
    expect(check({ a: 1 })).toMatchObject({ valid: true, data: { a: 1 } });
    const refused = check({ a: 'one', b: 2 });
    expect(refused.valid).toBe(false);
    expect(refused.errorMessage).toMatch(/must/);
    // The same validator serves later schemas.
    expect(validator.getValidator({ type: 'string', maxLength: 3 })('four').valid).toBe(false);
  });
});
