// GraphQL Code Generator: types for the mini-program from the server's schema
// (../../graph/*.graphqls) and this example's operations (*.graphql).
//
//   npm run codegen
//
// CI (.ci/miniprogram.sh) runs it again and fails when the committed output
// differs, so a schema change that breaks the client is caught.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../graph/*.graphqls',
  documents: 'miniprogram/**/*.graphql',
  // An operation that the schema does not allow fails the generation.
  config: {
    // `import type`, which the mini-program's compiler drops.
    useTypeImports: true,
    // Custom scalars as they travel in JSON: an ID is a string on the wire,
    // a Time an RFC 3339 string, a JSON any value. A scalar the schema adds
    // later is `unknown` until it is mapped here.
    scalars: { ID: 'string', Time: 'string', JSON: 'unknown' },
    defaultScalarType: 'unknown',
  },
  generates: {
    // Every type of the schema (plugin "typescript"), among them ErrorCode
    // and ErrorReason: the values of extensions.code and .reason.
    'miniprogram/api/generated/schema.ts': {
      plugins: ['typescript'],
      // String unions rather than TypeScript enums: types only, no code.
      config: { enumsAsTypes: true },
    },
    // The result and variables types of each operation (plugin
    // "typescript-operations", whose input types come from schema.ts), and
    // each operation's text as a typed string (plugin "typed-document-node"
    // in string mode: no graphql-js at run time, which the mini-program
    // could not load without building npm).
    'miniprogram/api/generated/operations.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: {
        importSchemaTypesFrom: './miniprogram/api/generated/schema.ts',
        documentMode: 'string',
      },
    },
  },
};

export default config;
