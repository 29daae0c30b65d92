// The mini-program's API: one client for the configured server, and the
// typed operations on it. Pages import from here.

import { apiUrl } from '../config';
import { GraphQLClient } from './graphql';
import { TodoApi } from './todos';

export const client = new GraphQLClient({ url: apiUrl() });
export const api = new TodoApi(client);

export { ClientCode, GraphQLClientError, isClientError } from './graphql';
export type { Todo, TodoPage, User } from './todos';
