package graph

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"wxtodo/auth"
)

// listTags gives a query over GET that reads only the caller's todo list
// an ETag from the caller, their list version and the request (document,
// operation and variables): every change of the list increases the
// version, so while the tag matches If-None-Match the answer would be the
// same, and 304 Not Modified saves the list query and the transfer.
type listTags struct {
	// version reads a user's list version (todo.Service.ListVersion).
	version func(ctx context.Context, userID int64) (int, error)
}

// tag returns the request's ETag, or false when the request does not
// qualify: another root field than todos, or no signed-in caller.
func (l *listTags) tag(ctx context.Context, op *graphql.OperationContext, variables string) (string, bool) {
	if l == nil || !readsOnlyTheList(op.Operation.SelectionSet) {
		return "", false
	}
	c, err := auth.RequireUser(ctx)
	if err != nil {
		return "", false
	}
	v, err := l.version(ctx, c.User.ID)
	if err != nil {
		return "", false // the query itself reports what is wrong
	}
	h := sha256.New()
	var n [16]byte
	binary.BigEndian.PutUint64(n[:8], uint64(c.User.ID))
	binary.BigEndian.PutUint64(n[8:], uint64(v))
	h.Write(n[:])
	for _, part := range []string{op.RawQuery, op.OperationName, variables} {
		binary.BigEndian.PutUint64(n[:8], uint64(len(part)))
		h.Write(n[:8])
		h.Write([]byte(part))
	}
	return `W/"` + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18]) + `"`, true
}

// readsOnlyTheList reports whether the root fields are todos (and
// __typename) only: nothing whose answer the list version does not cover.
func readsOnlyTheList(set ast.SelectionSet) bool {
	list := false
	for _, sel := range set {
		f, ok := sel.(*ast.Field)
		switch {
		case !ok:
			return false
		case f.Name == "todos":
			list = true
		case f.Name != "__typename":
			return false
		}
	}
	return list
}

// notModified reports whether If-None-Match names tag (weak comparison,
// as RFC 9110 has it for If-None-Match).
func notModified(r *http.Request, tag string) bool {
	for _, v := range r.Header.Values("If-None-Match") {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == strings.TrimPrefix(tag, "W/") {
				return true
			}
		}
	}
	return false
}
