import { z } from 'zod';
import { errorSchema } from './schemas.js';
import type { Route } from './routes.js';

const ERROR_TEXT: Record<number, string> = {
  400: 'bad input: the error names the field and the fix',
  401: 'missing or wrong token (Authorization: Bearer …)',
  404: 'no such thing',
  429: 'refused by admission control; retry later',
  503: 'the cluster director is not in this process now (another holds the lease, or it is taking over)',
};

/** The OpenAPI 3.1 document, generated from the route table (one source for server, docs and contract tests). */
export function openApiDocument(routes: readonly Route[]): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    // 503: a cluster process whose director does not hold the lease answers every route so.
    const errors = [400, 401, ...(route.errors ?? []), 503];
    (paths[path] ??= {})[route.method.toLowerCase()] = {
      summary: route.summary,
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      ...(route.body && {
        requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body) } } },
      }),
      ...(route.mutates && { security: [{ bearer: [] }] }),
      responses: {
        [route.ok.status]: {
          description: 'ok',
          content: { 'application/json': { schema: jsonSchema(route.ok.schema) } },
        },
        ...Object.fromEntries(
          errors.map((status) => [
            status,
            { description: ERROR_TEXT[status], content: { 'application/json': { schema: jsonSchema(errorSchema) } } },
          ]),
        ),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Swarmlet API', version: '1' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}

function jsonSchema(schema: z.ZodType): object {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): object[] {
  if (!schema) return [];
  const json = jsonSchema(schema) as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: property,
  }));
}
