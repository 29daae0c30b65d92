// Typed wrappers of this example's operations (operations/*.graphql), on
// top of the GraphQL client. The types come from generated/ (npm run codegen).

import type { GraphQLClient } from './graphql';
import {
  CreateTodoDocument,
  DeleteTodoDocument,
  MeDocument,
  TodoDocument,
  TodosDocument,
  UpdateTodoDocument,
} from './generated/operations';
import type { TodoFieldsFragment, UserFieldsFragment } from './generated/operations';
import type { TodoFilter, UpdateTodoInput } from './generated/schema';

export type Todo = TodoFieldsFragment;
export type User = UserFieldsFragment;

/** One page of the list, newest first. */
export interface TodoPage {
  todos: Todo[];
  /** Pass as `after` for the next page; null for an empty page. */
  endCursor: string | null;
  hasNextPage: boolean;
  /** How many todos match the filter in all. */
  totalCount: number;
  /**
   * The caller's list version when the page was read: every change of the
   * caller's todos increases it (see live.ts, which compares it).
   */
  version: number;
}

export interface ListOptions {
  /** Page size, 1 to 100. Default 20. */
  first?: number;
  /** The endCursor of the previous page. */
  after?: string | null;
  filter?: TodoFilter;
}

/**
 * An idempotency key for createTodo (1..64 bytes): the same key sent again
 * returns the todo created first instead of a duplicate.
 */
export function newClientMutationId(): string {
  let r = '';
  while (r.length < 24) {
    r += Math.floor(Math.random() * 0x100000000).toString(36);
  }
  return Date.now().toString(36) + '-' + r.slice(0, 24);
}

export class TodoApi {
  constructor(readonly client: GraphQLClient) {}

  /** The signed-in user. */
  async me(): Promise<User> {
    return (await this.client.request(MeDocument, {}, { retryNetworkError: true })).me;
  }

  /** A page of the caller's todos. */
  async list(options: ListOptions = {}): Promise<TodoPage> {
    const data = await this.client.request(
      TodosDocument,
      { first: options.first ?? 20, after: options.after ?? null, filter: options.filter ?? null },
      { retryNetworkError: true },
    );
    const c = data.todos;
    return {
      todos: c.edges.map((e) => e.node),
      endCursor: c.pageInfo.endCursor,
      hasNextPage: c.pageInfo.hasNextPage,
      totalCount: c.totalCount,
      version: c.version,
    };
  }

  /** One todo, or null when it does not exist or is someone else's. */
  async get(id: string): Promise<Todo | null> {
    return (await this.client.request(TodoDocument, { id }, { retryNetworkError: true })).todo;
  }

  /**
   * Adds a todo. A fresh clientMutationId goes with it, the same one on
   * every retry (after a re-login or a lost answer), so it is created once.
   */
  async create(title: string, clientMutationId: string = newClientMutationId()): Promise<Todo> {
    const data = await this.client.request(
      CreateTodoDocument,
      { input: { title, clientMutationId } },
      { retryNetworkError: true },
    );
    return data.createTodo;
  }

  /** Changes a todo's title and/or done; NOT_FOUND when it is not the caller's. */
  async update(id: string, input: UpdateTodoInput): Promise<Todo> {
    // Setting fields to given values can safely be sent twice.
    return (await this.client.request(UpdateTodoDocument, { id, input }, { retryNetworkError: true })).updateTodo;
  }

  /** Ticks or unticks a todo. */
  setDone(id: string, done: boolean): Promise<Todo> {
    return this.update(id, { done });
  }

  /** Renames a todo. */
  rename(id: string, title: string): Promise<Todo> {
    return this.update(id, { title });
  }

  /** Deletes a todo and returns its ID; NOT_FOUND when it is not the caller's. */
  async remove(id: string): Promise<string> {
    // Not retried after a network failure: a second delete would answer
    // NOT_FOUND for a todo the first one deleted.
    return (await this.client.request(DeleteTodoDocument, { id })).deleteTodo;
  }
}
