// The mini-program's API: one client for the configured server (its URL, or
// its Cloud Hosting service: see config.ts), the typed operations on it, and
// the live client on the same server. Pages import from here.

import { apiUrl, cloudHosting, loginAppId } from '../config';
import { GraphQLClient } from './graphql';
import { LiveClient } from './live';
import { TodoApi } from './todos';

export const client = new GraphQLClient({ url: apiUrl(), cloud: cloudHosting(), appId: loginAppId() });
export const api = new TodoApi(client);
export const live = new LiveClient({ client });

export { ClientCode, GraphQLClientError, isClientError } from './graphql';
export type { Todo, TodoPage, User } from './todos';
export type { TodoChange } from './live';
