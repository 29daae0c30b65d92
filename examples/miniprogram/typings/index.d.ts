// Global types of the mini-program (the wx API comes from
// miniprogram-api-typings, see tsconfig.json).

interface IAppOption {
  globalData: Record<string, never>;
}
