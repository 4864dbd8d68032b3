import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { JsonSchemaType, JsonSchemaValidator, jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation';

/**
 * The SDK's own JSON Schema validator (Ajv), made the first time a schema is
 * checked rather than with every client and server: the governed tools
 * declare no output schema and the server asks for no elicitation, so a
 * session mostly never needs one, and making it costs each session milliseconds.
 */
export function lazyJsonSchemaValidator(): jsonSchemaValidator {
  let made: AjvJsonSchemaValidator | undefined;
  return {
    getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
      made ??= new AjvJsonSchemaValidator();
      return made.getValidator<T>(schema);
    },
  };
}
