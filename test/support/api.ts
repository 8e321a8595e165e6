/**
 * The shared HTTP test client: supertest, with every response checked against the OpenAPI
 * contract (`checkResponse`), so no test can forget to, and a response the spec does not
 * describe fails the test that got it. Import `request` from here instead of from supertest.
 */
import supertest from 'supertest';
import { checkResponse } from './openapi-check.js';

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options']);

/** `supertest(app)`, whose every request also asserts the contract. */
export function request(app: Parameters<typeof supertest>[0]): ReturnType<typeof supertest> {
  const agent = supertest(app);
  return new Proxy(agent, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || !METHODS.has(prop) || typeof value !== 'function') return value;
      return (...args: unknown[]) => (value as (...a: unknown[]) => supertest.Test).apply(target, args).expect(checkResponse);
    },
  });
}
