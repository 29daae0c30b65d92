// Sign-in: wx.login() and the `login` mutation, through the API client.
// With a token stored already it goes straight to the list; an expired
// token is replaced by the client itself on the next call. Through WeChat
// Cloud Hosting (config.ts) there is nothing to sign in to: the platform
// names the user of every call, so it goes straight to the list too.

import { client } from '../../api/index';
import { describeError } from '../../utils/errors';

Page({
  data: {
    signingIn: false,
    errorText: '',
    serverUrl: client.target,
  },

  onLoad() {
    if (client.getToken() || client.platformIdentity) {
      this.openList(false);
    }
  },

  async onLogin() {
    if (this.data.signingIn) {
      return;
    }
    this.setData({ signingIn: true, errorText: '' });
    try {
      const res = await client.login();
      this.openList(res.isNewUser);
    } catch (err) {
      this.setData({ errorText: describeError(err) });
    } finally {
      this.setData({ signingIn: false });
    }
  },

  openList(welcome: boolean) {
    wx.reLaunch({ url: '/pages/todos/todos' + (welcome ? '?welcome=1' : '') });
  },
});
