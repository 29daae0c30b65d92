// The todo list: add, tick, edit, delete; pull down to refresh, scroll to
// the bottom for the next page (by the `after` cursor).

import { api, client, isClientError } from '../../api/index';
import type { Todo } from '../../api/index';
import { describeError } from '../../utils/errors';

const PAGE_SIZE = 20;

function todoId(e: WechatMiniprogram.BaseEvent): string {
  return String(e.currentTarget.dataset.id);
}

Page({
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
  },

  onLoad(query: Record<string, string | undefined>) {
    if (query.welcome) {
      wx.showToast({ title: '欢迎使用', icon: 'success' });
    }
    this.reload();
  },

  async onPullDownRefresh() {
    await this.reload();
    wx.stopPullDownRefresh();
  },

  onReachBottom() {
    this.loadMore();
  },

  /** Loads the first page again. */
  async reload() {
    this.setData({ loading: true });
    try {
      const page = await api.list({ first: PAGE_SIZE });
      this.setData({
        todos: page.todos,
        endCursor: page.endCursor,
        hasNextPage: page.hasNextPage,
        totalCount: page.totalCount,
        errorText: '',
      });
    } catch (err) {
      this.setData({ errorText: describeError(err) });
    } finally {
      this.setData({ loading: false });
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
      this.setData({
        todos: [todo].concat(this.data.todos.filter((t) => t.id !== todo.id)),
        totalCount: this.data.totalCount + 1,
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
});
