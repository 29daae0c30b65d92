// Turns a failed call into a line for the user, with the error code kept
// visible so that a bug report can name it.

import { GraphQLClientError } from '../api/graphql';
import type { KnownCode } from '../api/graphql';

// Typed by the schema's ErrorCode: a code the server drops fails the build.
const MESSAGES: Partial<Record<KnownCode, string>> = {
  UNAUTHENTICATED: '登录已失效，请重新登录',
  BAD_USER_INPUT: '输入有误',
  NOT_FOUND: '这条待办已不存在',
  WECHAT_ERROR: '微信登录失败，请重试',
  WECHAT_UNAVAILABLE: '微信服务暂时不可用，请稍后再试',
  RATE_LIMITED: '操作太频繁，请稍后再试',
  LIMIT_EXCEEDED: '待办已达上限，请先删除一些',
  TIMEOUT: '服务器响应超时，请重试',
  SERVICE_UNAVAILABLE: '服务暂时不可用，请稍后再试',
  INTERNAL_SERVER_ERROR: '服务器出错了，请稍后再试',
  NETWORK_ERROR: '网络连接失败，请检查网络',
  WX_LOGIN_FAILED: '微信登录失败，请重试',
};

/** A short message for a toast or an error line: "输入有误：title must be ... (BAD_USER_INPUT)". */
export function describeError(err: unknown): string {
  if (err instanceof GraphQLClientError) {
    const base = MESSAGES[err.code as KnownCode];
    if (err.code === 'BAD_USER_INPUT') {
      return `${base}：${err.message}（${err.code}）`;
    }
    return `${base || err.message}（${err.code}${err.reason ? ' ' + err.reason : ''}）`;
  }
  if (err instanceof Error) {
    return err.message;
  }
  return String(err);
}
