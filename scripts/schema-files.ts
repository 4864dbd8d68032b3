import { z } from 'zod';
import {
  ApprovalRecordSchema,
  AskSchema,
  NodeSessionSchema,
  PolicyDecisionRecordSchema,
  TestResultsSchema,
  ToolCallRecordSchema,
} from '@lumenflow/protocol';
import { ManifestSchema } from '@lumenflow/verifier';
import { RulesDocumentSchema } from '@lumenflow/policy';

/** Each documented file format: the docs/schemas file name and its zod schema. */
const SCHEMAS: ReadonlyArray<readonly [string, z.ZodType]> = [
  ['ask.schema.json', AskSchema],
  ['node-session.schema.json', NodeSessionSchema],
  ['policy-decision.schema.json', PolicyDecisionRecordSchema],
  ['tool-call.schema.json', ToolCallRecordSchema],
  ['test-results.schema.json', TestResultsSchema],
  ['approval.schema.json', ApprovalRecordSchema],
  ['manifest.schema.json', ManifestSchema],
  ['rules.schema.json', RulesDocumentSchema],
];

/** Renders every JSON Schema file's exact text, in a stable order. */
export function renderSchemaFiles(): Array<[string, string]> {
  return SCHEMAS.map(([fileName, schema]) => [fileName, `${JSON.stringify(z.toJSONSchema(schema, { io: 'input' }), null, 2)}\n`]);
}
