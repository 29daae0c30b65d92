// The todo list: add, tick, edit, delete; pull down to refresh, scroll to
// the bottom for the next page (by the `after` cursor); and live: a change
// made on one of the user's other devices shows up as it happens
// (api/live.ts), subscribed while the page is shown.
//
// The page is built with Component() rather than Page(). WeChat runs a page
// defined this way just the same (its json has usingComponents; onLoad,
// onShow, onHide, onPullDownRefresh and onReachBottom go in methods), and it
// is the constructor miniprogram-simulate, WeChat's component test tool,
// can load: it defines Component and no Page. So test/todos-page.test.js
// renders and drives this very page.

import { api, client, isClientError, live } from '../../api/index';
import type { Todo, TodoChange } from '../../api/index';
import { describeError } from '../../utils/errors';

const PAGE_SIZE = 20;

function todoId(e: WechatMiniprogram.BaseEvent): string {
  return String(e.currentTarget.dataset.id);
}

/** What a page instance keeps beside its data (nothing here is rendered). */
interface LiveState {
  /** Ends the subscription; null while the page is hidden. */
  unsubscribe: (() => void) | null;
  /** Numbers the reloads: only the latest one started is applied. */
  reloads: number;
  /** The number of the reload whose list is shown. */
  applied: number;
  /** Changes that came while a reload was under way, applied after it. */
  pending: TodoChange[];
}

const states = new WeakMap<object, LiveState>();

function liveState(page: object): LiveState {
  let s = states.get(page);
  if (!s) {
    s = { unsubscribe: null, reloads: 0, applied: 0, pending: [] };
    states.set(page, s);
  }
  return s;
}

Component({
  data: {
    todos: [] as Todo[],
    newTitle: '',
    endCursor: null as string | null,
    hasNextPage: false,
    totalCount: 0,
    loading: false,
    loadingMore: false,
    adding: false,
    errorText: '',
    // Through Cloud Hosting the platform signs the user in: no logout.
    canLogout: !client.platformIdentity,
  },

  methods: {
    onLoad(query: Record<string, string | undefined>) {
      if (query && query.welcome) {
        wx.showToast({ title: '欢迎使用', icon: 'success' });
      }
      this.reload();
    },

    /** Shown: live changes on (the subscription resyncs by version). */
    onShow() {
      const s = liveState(this);
      if (!s.unsubscribe) {
        s.unsubscribe = live.subscribe((change) => this.onLiveChange(change));
      }
      live.resume();
    },

    /** Hidden: no socket while nobody looks. */
    onHide() {
      this.stopLive();
    },

    onUnload() {
      this.stopLive();
    },

    async onPullDownRefresh() {
      await this.reload();
      wx.stopPullDownRefresh();
    },

    onReachBottom() {
      this.loadMore();
    },

    stopLive() {
      const s = liveState(this);
      if (s.unsubscribe) {
        s.unsubscribe();
        s.unsubscribe = null;
      }
    },

    /**
     * Applies a change from another device (or this one's own, which the
     * list has already): CREATED on top, UPDATED in place, DELETED out, the
     * count from the event; RESYNC loads the first page again. While a
     * reload is under way, changes wait for its list.
     */
    onLiveChange(change: TodoChange) {
      const s = liveState(this);
      if (change.kind === 'RESYNC') {
        this.reload();
        return;
      }
      if (s.reloads !== s.applied) {
        s.pending.push(change);
        return;
      }
      this.applyChanges([change]);
    },

    applyChanges(changes: TodoChange[]) {
      if (changes.length === 0) {
        return;
      }
      let todos = this.data.todos;
      let totalCount = this.data.totalCount;
      for (const c of changes) {
        const todo = c.todo;
        if (c.kind === 'CREATED' && todo) {
          todos = todos.some((t) => t.id === todo.id) ? todos.map((t) => (t.id === todo.id ? todo : t)) : [todo].concat(todos);
        } else if (c.kind === 'UPDATED' && todo) {
          todos = todos.map((t) => (t.id === todo.id ? todo : t));
        } else if (c.kind === 'DELETED') {
          todos = todos.filter((t) => t.id !== c.id);
        }
        totalCount = c.totalCount;
      }
      this.setData({ todos, totalCount });
    },

    /** Loads the first page again. */
    async reload() {
      const s = liveState(this);
      const n = ++s.reloads;
      this.setData({ loading: true });
      try {
        const page = await api.list({ first: PAGE_SIZE });
        if (n !== s.reloads) {
          // A newer reload is under way: its list is shown instead.
          return;
        }
        s.applied = n;
        this.setData({
          todos: page.todos,
          endCursor: page.endCursor,
          hasNextPage: page.hasNextPage,
          totalCount: page.totalCount,
          errorText: '',
        });
        // Changes that came while the page was read, and that it does not
        // have yet.
        const pending = s.pending.filter((c) => c.version > page.version);
        s.pending = [];
        this.applyChanges(pending);
        live.noteVersion(page.version);
      } catch (err) {
        if (n !== s.reloads) {
          return;
        }
        s.applied = n;
        const pending = s.pending;
        s.pending = [];
        this.setData({ errorText: describeError(err) });
        this.applyChanges(pending);
      } finally {
        if (n === s.reloads) {
          this.setData({ loading: false });
        }
      }
    },

    /** Appends the page after endCursor, if there is one. */
    async loadMore() {
      const { hasNextPage, endCursor, loading, loadingMore } = this.data;
      if (!hasNextPage || loading || loadingMore) {
        return;
      }
      this.setData({ loadingMore: true });
      try {
        const page = await api.list({ first: PAGE_SIZE, after: endCursor });
        // Todos added here since the first page are at the top already, and
        // later pages never repeat a todo; skip duplicates all the same.
        const seen = new Set(this.data.todos.map((t) => t.id));
        this.setData({
          todos: this.data.todos.concat(page.todos.filter((t) => !seen.has(t.id))),
          endCursor: page.endCursor,
          hasNextPage: page.hasNextPage,
          totalCount: page.totalCount,
        });
      } catch (err) {
        this.showError(err);
      } finally {
        this.setData({ loadingMore: false });
      }
    },

    onTitleInput(e: WechatMiniprogram.Input) {
      this.setData({ newTitle: e.detail.value });
    },

    async onAdd() {
      const title = this.data.newTitle.trim();
      if (!title || this.data.adding) {
        return;
      }
      this.setData({ adding: true });
      try {
        const todo = await api.create(title);
        // Its CREATED event may have put it on the list (and counted it)
        // before this answer came.
        const listed = this.data.todos.some((t) => t.id === todo.id);
        this.setData({
          todos: [todo].concat(this.data.todos.filter((t) => t.id !== todo.id)),
          totalCount: listed ? this.data.totalCount : this.data.totalCount + 1,
          newTitle: '',
        });
      } catch (err) {
        this.showError(err);
      } finally {
        this.setData({ adding: false });
      }
    },

    async onToggle(e: WechatMiniprogram.BaseEvent) {
      const todo = this.data.todos.find((t) => t.id === todoId(e));
      if (!todo) {
        return;
      }
      try {
        this.replace(await api.setDone(todo.id, !todo.done));
      } catch (err) {
        this.showError(err);
      }
    },

    async onEdit(e: WechatMiniprogram.BaseEvent) {
      const todo = this.data.todos.find((t) => t.id === todoId(e));
      if (!todo) {
        return;
      }
      const res = await wx.showModal({
        title: '修改待办',
        editable: true,
        placeholderText: '待办内容',
        content: todo.title,
      });
      const title = (res.content || '').trim();
      if (!res.confirm || title === todo.title) {
        return;
      }
      try {
        this.replace(await api.rename(todo.id, title));
      } catch (err) {
        this.showError(err);
      }
    },

    async onDelete(e: WechatMiniprogram.BaseEvent) {
      const todo = this.data.todos.find((t) => t.id === todoId(e));
      if (!todo) {
        return;
      }
      const res = await wx.showModal({ title: '删除待办', content: todo.title, confirmText: '删除', confirmColor: '#b3261e' });
      if (!res.confirm) {
        return;
      }
      try {
        await api.remove(todo.id);
        this.drop(todo.id);
      } catch (err) {
        this.showError(err);
      }
    },

    async onLogout() {
      // Closed first: a live client would sign in again after the socket's
      // session ends (4401).
      this.stopLive();
      live.close();
      try {
        await client.logout();
      } catch (err) {
        // The token is forgotten all the same.
      }
      wx.reLaunch({ url: '/pages/login/login' });
    },

    replace(todo: Todo) {
      this.setData({ todos: this.data.todos.map((t) => (t.id === todo.id ? todo : t)) });
    },

    drop(id: string) {
      // Its DELETED event may have taken it off (and counted) already.
      if (!this.data.todos.some((t) => t.id === id)) {
        return;
      }
      this.setData({
        todos: this.data.todos.filter((t) => t.id !== id),
        totalCount: Math.max(0, this.data.totalCount - 1),
      });
    },

    showError(err: unknown) {
      wx.showToast({ title: describeError(err), icon: 'none', duration: 3000 });
      if (isClientError(err, 'NOT_FOUND')) {
        // Deleted elsewhere: show the list as it is now.
        this.reload();
      }
    },
  },
});
