// Where the wxtodo server is, for each version of the mini-program.
//
// - develop (WeChat DevTools): a server on this computer, started with
//   `go run .` in the repository root. DevTools must not check the request
//   domain: project.config.json sets "urlCheck": false, which is the
//   "不校验合法域名、web-view（业务域名）、TLS 版本以及 HTTPS 证书" box under
//   详情 → 本地设置 (Details → Local Settings → "Do not verify valid domain
//   names ..."). On a phone (预览 / 真机调试) 127.0.0.1 is the phone itself:
//   use a server the phone can reach over HTTPS instead.
// - trial and release: your server's HTTPS domain, which must be listed
//   under 开发管理 → 开发设置 → 服务器域名 → request合法域名 in the
//   mini-program's admin console (mp.weixin.qq.com).
//
// Or WeChat Cloud Hosting (微信云托管): a version with a CLOUD_HOSTING entry
// calls the service through wx.cloud.callContainer instead of its URL (no
// domain to register, no sign-in: the platform names the user). The
// service runs wxtodo with CLOUD_HOSTING=true (see the repository's README).

import type { CloudContainerConfig } from './api/graphql';

export type EnvVersion = 'develop' | 'trial' | 'release';

export const ENDPOINTS: Record<EnvVersion, string> = {
  develop: 'http://127.0.0.1:8080/query',
  trial: 'https://wxtodo.example.com/query',
  release: 'https://wxtodo.example.com/query',
};

/**
 * Cloud Hosting per version: `{ env, service }` (the environment ID and
 * the service name from the Cloud Hosting console) sends that version's
 * calls through wx.cloud.callContainer, and its ENDPOINTS URL is not used;
 * null keeps wx.request. For example:
 *
 *   release: { env: 'prod-2gab3cd4e5f6', service: 'wxtodo' },
 */
export const CLOUD_HOSTING: Record<EnvVersion, CloudContainerConfig | null> = {
  develop: null,
  trial: null,
  release: null,
};

/**
 * Whether the server serves several mini-programs (WECHAT_APPS): each
 * login then names this one's AppID. Leave it false for a server of one.
 */
export const SEVERAL_APPS = false;

/** The AppID the login names: this mini-program's with SEVERAL_APPS, else none. */
export function loginAppId(): string {
  if (!SEVERAL_APPS) {
    return '';
  }
  try {
    return wx.getAccountInfoSync().miniProgram.appId;
  } catch (e) {
    return '';
  }
}

/** The running version of the mini-program (develop in DevTools). */
export function envVersion(): EnvVersion {
  try {
    const env = wx.getAccountInfoSync().miniProgram.envVersion;
    if (env in ENDPOINTS) {
      return env;
    }
  } catch (e) {
    // Old base libraries lack getAccountInfoSync: keep develop.
  }
  return 'develop';
}

/** The GraphQL endpoint for the running version of the mini-program. */
export function apiUrl(): string {
  return ENDPOINTS[envVersion()] || ENDPOINTS.develop;
}

/** The Cloud Hosting service for the running version, or null for wx.request. */
export function cloudHosting(): CloudContainerConfig | null {
  return CLOUD_HOSTING[envVersion()] || null;
}
