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

type EnvVersion = 'develop' | 'trial' | 'release';

export const ENDPOINTS: Record<EnvVersion, string> = {
  develop: 'http://127.0.0.1:8080/query',
  trial: 'https://wxtodo.example.com/query',
  release: 'https://wxtodo.example.com/query',
};

/** The GraphQL endpoint for the running version of the mini-program. */
export function apiUrl(): string {
  let env: EnvVersion = 'develop';
  try {
    env = wx.getAccountInfoSync().miniProgram.envVersion;
  } catch (e) {
    // Old base libraries lack getAccountInfoSync: keep develop.
  }
  return ENDPOINTS[env] || ENDPOINTS.develop;
}
