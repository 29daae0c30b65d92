/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type * as Types from './schema';

import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type UserFieldsFragment = { id: string, nickname: string, avatarUrl: string, createdAt: string };

export type LoginMutationVariables = Exact<{
  input: Types.LoginInput;
}>;


export type LoginMutation = { login: { token: string, expiresAt: string, isNewUser: boolean, user: { id: string, nickname: string, avatarUrl: string, createdAt: string } } };

export type LogoutMutationVariables = Exact<{ [key: string]: never; }>;


export type LogoutMutation = { logout: boolean };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { id: string, nickname: string, avatarUrl: string, createdAt: string } };

export type TodoChangedSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type TodoChangedSubscription = { todoChanged: { kind: Types.TodoChangeKind, id: string | null, version: number, totalCount: number, todo: { id: string, title: string, done: boolean, createdAt: string, updatedAt: string } | null } };

export type TodoVersionQueryVariables = Exact<{ [key: string]: never; }>;


export type TodoVersionQuery = { todos: { version: number, totalCount: number } };

export type TodoFieldsFragment = { id: string, title: string, done: boolean, createdAt: string, updatedAt: string };

export type TodosQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  filter?: Types.TodoFilter | null | undefined;
}>;


export type TodosQuery = { todos: { totalCount: number, version: number, edges: Array<{ cursor: string, node: { id: string, title: string, done: boolean, createdAt: string, updatedAt: string } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type TodoQueryVariables = Exact<{
  id: string;
}>;


export type TodoQuery = { todo: { id: string, title: string, done: boolean, createdAt: string, updatedAt: string } | null };

export type CreateTodoMutationVariables = Exact<{
  input: Types.CreateTodoInput;
}>;


export type CreateTodoMutation = { createTodo: { id: string, title: string, done: boolean, createdAt: string, updatedAt: string } };

export type UpdateTodoMutationVariables = Exact<{
  id: string;
  input: Types.UpdateTodoInput;
}>;


export type UpdateTodoMutation = { updateTodo: { id: string, title: string, done: boolean, createdAt: string, updatedAt: string } };

export type DeleteTodoMutationVariables = Exact<{
  id: string;
}>;


export type DeleteTodoMutation = { deleteTodo: string };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const UserFieldsFragmentDoc = new TypedDocumentString(`
    fragment UserFields on User {
  id
  nickname
  avatarUrl
  createdAt
}
    `, {"fragmentName":"UserFields"}) as unknown as TypedDocumentString<UserFieldsFragment, unknown>;
export const TodoFieldsFragmentDoc = new TypedDocumentString(`
    fragment TodoFields on Todo {
  id
  title
  done
  createdAt
  updatedAt
}
    `, {"fragmentName":"TodoFields"}) as unknown as TypedDocumentString<TodoFieldsFragment, unknown>;
export const LoginDocument = new TypedDocumentString(`
    mutation Login($input: LoginInput!) {
  login(input: $input) {
    token
    expiresAt
    isNewUser
    user {
      ...UserFields
    }
  }
}
    fragment UserFields on User {
  id
  nickname
  avatarUrl
  createdAt
}`) as unknown as TypedDocumentString<LoginMutation, LoginMutationVariables>;
export const LogoutDocument = new TypedDocumentString(`
    mutation Logout {
  logout
}
    `) as unknown as TypedDocumentString<LogoutMutation, LogoutMutationVariables>;
export const MeDocument = new TypedDocumentString(`
    query Me {
  me {
    ...UserFields
  }
}
    fragment UserFields on User {
  id
  nickname
  avatarUrl
  createdAt
}`) as unknown as TypedDocumentString<MeQuery, MeQueryVariables>;
export const TodoChangedDocument = new TypedDocumentString(`
    subscription TodoChanged {
  todoChanged {
    kind
    id
    version
    totalCount
    todo {
      ...TodoFields
    }
  }
}
    fragment TodoFields on Todo {
  id
  title
  done
  createdAt
  updatedAt
}`) as unknown as TypedDocumentString<TodoChangedSubscription, TodoChangedSubscriptionVariables>;
export const TodoVersionDocument = new TypedDocumentString(`
    query TodoVersion {
  todos(first: 1) {
    version
    totalCount
  }
}
    `) as unknown as TypedDocumentString<TodoVersionQuery, TodoVersionQueryVariables>;
export const TodosDocument = new TypedDocumentString(`
    query Todos($first: Int = 20, $after: String, $filter: TodoFilter) {
  todos(first: $first, after: $after, filter: $filter) {
    edges {
      cursor
      node {
        ...TodoFields
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
    totalCount
    version
  }
}
    fragment TodoFields on Todo {
  id
  title
  done
  createdAt
  updatedAt
}`) as unknown as TypedDocumentString<TodosQuery, TodosQueryVariables>;
export const TodoDocument = new TypedDocumentString(`
    query Todo($id: ID!) {
  todo(id: $id) {
    ...TodoFields
  }
}
    fragment TodoFields on Todo {
  id
  title
  done
  createdAt
  updatedAt
}`) as unknown as TypedDocumentString<TodoQuery, TodoQueryVariables>;
export const CreateTodoDocument = new TypedDocumentString(`
    mutation CreateTodo($input: CreateTodoInput!) {
  createTodo(input: $input) {
    ...TodoFields
  }
}
    fragment TodoFields on Todo {
  id
  title
  done
  createdAt
  updatedAt
}`) as unknown as TypedDocumentString<CreateTodoMutation, CreateTodoMutationVariables>;
export const UpdateTodoDocument = new TypedDocumentString(`
    mutation UpdateTodo($id: ID!, $input: UpdateTodoInput!) {
  updateTodo(id: $id, input: $input) {
    ...TodoFields
  }
}
    fragment TodoFields on Todo {
  id
  title
  done
  createdAt
  updatedAt
}`) as unknown as TypedDocumentString<UpdateTodoMutation, UpdateTodoMutationVariables>;
export const DeleteTodoDocument = new TypedDocumentString(`
    mutation DeleteTodo($id: ID!) {
  deleteTodo(id: $id)
}
    `) as unknown as TypedDocumentString<DeleteTodoMutation, DeleteTodoMutationVariables>;