// The app: nothing to do at launch. The login page signs in (or skips to
// the list when a token is stored), and the API client signs in again by
// itself when the session has expired.

App<IAppOption>({
  globalData: {},
});
