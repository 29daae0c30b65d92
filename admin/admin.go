// Package admin is what operators do: find a user, see their devices,
// sign them out everywhere, disable and enable an account, and issue and
// revoke the operator tokens they sign in with; every such action is
// recorded in the audit trail, in the same transaction as the action. It
// serves the @auth(role: ADMIN) fields, the command line's admin, users
// and sessions commands, and the admin page.
//
// What an operator reads leaves out every secret: no token or token hash,
// no session_key, and the phone number masked.
package admin

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"wxtodo/auth"
	"wxtodo/errcode"
	"wxtodo/input"
)

// Page sizes.
const (
	DefaultUsersPage = 20
	DefaultAuditPage = 50
	MaxPage          = 100
	// MaxReasonLen bounds a disable's reason, in characters.
	MaxReasonLen = 500
	// MaxSearchLen bounds a search, in bytes.
	MaxSearchLen = 128
	// DefaultTokenTTL is an operator token's lifetime when none is asked
	// for (ADMIN_TOKEN_TTL).
	DefaultTokenTTL = 8 * time.Hour
	// MaxTokenTTL bounds it: operator tokens are short-lived.
	MaxTokenTTL = 30 * 24 * time.Hour
)

// CLI is the operator name the command line acts as.
const CLI = "cli"

// Actions recorded in the audit trail.
const (
	ActionRevokeSessions = "revoke_sessions"
	ActionDisableUser    = "disable_user"
	ActionEnableUser     = "enable_user"
	ActionIssueToken     = "issue_token"
	ActionRevokeToken    = "revoke_token"
)

// User is an operator's view of a user.
type User struct {
	ID             int64
	Nickname       string
	CreatedAt      time.Time
	DisabledAt     *time.Time
	DisabledReason *string
	TodoCount      int
	// Phone is the stored number, for MaskedPhone only.
	Phone *string
}

// Disabled reports whether the account is disabled.
func (u *User) Disabled() bool { return u.DisabledAt != nil }

// PhoneNumber is the phone number as an operator sees it: masked.
func (u *User) PhoneNumber() *string {
	if u.Phone == nil {
		return nil
	}
	m := MaskPhone(*u.Phone)
	return &m
}

// Session is a signed-in device of a user.
type Session struct {
	ID         int64
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ExpiresAt  time.Time
}

// AuditEntry is one recorded operator action.
type AuditEntry struct {
	ID       int64
	At       time.Time
	Operator string
	Action   string
	Target   string
	Reason   string
	ClientIP string
}

// Token is an operator token as it is listed: never the token itself.
type Token struct {
	Name       string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastUsedAt *time.Time
}

// Actor is who acts: an operator (by the name of their token) from a
// client address, or CLI from a shell on the server.
type Actor struct {
	Operator string
	ClientIP string
}

// Store keeps what operators read and change. Each change writes its
// audit entry in the same transaction.
type Store interface {
	// SearchUsers returns up to limit users with an ID below beforeID
	// (0: no bound), newest first, that search names ("" names all): by
	// the user ID, the nickname, an openid or a unionid, exactly or by
	// prefix.
	SearchUsers(ctx context.Context, search string, beforeID int64, limit int) ([]*User, error)
	// UserByID returns the user, or a NOT_FOUND error.
	UserByID(ctx context.Context, id int64) (*User, error)
	// Sessions returns the user's sessions, newest first.
	Sessions(ctx context.Context, userID int64) ([]*Session, error)
	// RevokeSessions ends the user's sessions (their sockets close on
	// every instance) and returns how many; NOT_FOUND without the user.
	RevokeSessions(ctx context.Context, userID int64, e AuditEntry) (int, error)
	// SetDisabled disables the user (ending their sessions, as
	// RevokeSessions does) with reason, or enables them (reason nil);
	// NOT_FOUND without the user.
	SetDisabled(ctx context.Context, userID int64, reason *string, e AuditEntry) (*User, error)
	// Audit returns up to limit entries with an ID below beforeID (0: no
	// bound), newest first.
	Audit(ctx context.Context, beforeID int64, limit int) ([]*AuditEntry, error)
	// AddToken stores an operator token (its hash); a name with a token
	// that has not expired is a BAD_USER_INPUT error.
	AddToken(ctx context.Context, t Token, hash auth.TokenHash, e AuditEntry) error
	// Tokens lists the operator tokens, newest first.
	Tokens(ctx context.Context) ([]*Token, error)
	// DeleteToken ends the named token at once; NOT_FOUND without one.
	DeleteToken(ctx context.Context, name string, e AuditEntry) error
}

// Service serves the operators' actions.
type Service struct {
	Store Store
	Log   *slog.Logger
	// TokenTTL is a new operator token's default lifetime; 0 means
	// DefaultTokenTTL.
	TokenTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// UserPage is one page of a user search.
type UserPage struct {
	Users       []*User
	HasNextPage bool
}

// Users searches the users, newest first, from the cursor after ("" for
// the first page).
func (s *Service) Users(ctx context.Context, search string, first int, after string) (*UserPage, error) {
	search = strings.TrimSpace(search)
	if err := input.Bytes("search", search, 0, MaxSearchLen); err != nil {
		return nil, err
	}
	limit, before, err := page(first, after, "user")
	if err != nil {
		return nil, err
	}
	users, err := s.Store.SearchUsers(ctx, search, before, limit+1)
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	p := &UserPage{Users: users}
	if len(users) > limit {
		p.Users, p.HasNextPage = users[:limit], true
	}
	return p, nil
}

// User returns the user with id, or nil when there is none.
func (s *Service) User(ctx context.Context, id int64) (*User, error) {
	u, err := s.Store.UserByID(ctx, id)
	if errcode.Code(err) == errcode.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// Sessions returns the user's sessions, newest first.
func (s *Service) Sessions(ctx context.Context, userID int64) ([]*Session, error) {
	ss, err := s.Store.Sessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("read sessions: %w", err)
	}
	return ss, nil
}

// RevokeSessions signs the user out on every device and returns how many
// sessions ended.
func (s *Service) RevokeSessions(ctx context.Context, a Actor, userID int64) (int, error) {
	n, err := s.Store.RevokeSessions(ctx, userID, s.entry(a, ActionRevokeSessions, userTarget(userID), ""))
	if err != nil {
		return 0, notFoundOr(err, userID, "revoke sessions")
	}
	s.logger().InfoContext(ctx, "operator revoked a user's sessions", "operator", a.Operator, "user", userID, "sessions", n)
	return n, nil
}

// Disable disables the user with a reason: their sessions end at once and
// their logins are refused (FORBIDDEN, USER_DISABLED) until Enable.
func (s *Service) Disable(ctx context.Context, a Actor, userID int64, reason string) (*User, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, errcode.Input("reason", "say why the account is disabled: the reason is recorded and shown to operators")
	}
	if err := input.Chars("reason", reason, 1, MaxReasonLen); err != nil {
		return nil, err
	}
	u, err := s.Store.SetDisabled(ctx, userID, &reason, s.entry(a, ActionDisableUser, userTarget(userID), reason))
	if err != nil {
		return nil, notFoundOr(err, userID, "disable user")
	}
	s.logger().InfoContext(ctx, "operator disabled a user", "operator", a.Operator, "user", userID)
	return u, nil
}

// Enable lets a disabled user sign in again.
func (s *Service) Enable(ctx context.Context, a Actor, userID int64) (*User, error) {
	u, err := s.Store.SetDisabled(ctx, userID, nil, s.entry(a, ActionEnableUser, userTarget(userID), ""))
	if err != nil {
		return nil, notFoundOr(err, userID, "enable user")
	}
	s.logger().InfoContext(ctx, "operator enabled a user", "operator", a.Operator, "user", userID)
	return u, nil
}

// AuditPage is one page of the audit trail.
type AuditPage struct {
	Entries     []*AuditEntry
	HasNextPage bool
}

// Audit reads the audit trail, newest first, from the cursor after.
func (s *Service) Audit(ctx context.Context, first int, after string) (*AuditPage, error) {
	limit, before, err := page(first, after, "audit")
	if err != nil {
		return nil, err
	}
	es, err := s.Store.Audit(ctx, before, limit+1)
	if err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	p := &AuditPage{Entries: es}
	if len(es) > limit {
		p.Entries, p.HasNextPage = es[:limit], true
	}
	return p, nil
}

// IssueToken makes a new operator token for name, valid for ttl (0: the
// service's TokenTTL), and returns it: it is shown this once and stored
// only as its hash.
func (s *Service) IssueToken(ctx context.Context, a Actor, name string, ttl time.Duration) (string, *Token, error) {
	if err := checkName(name); err != nil {
		return "", nil, err
	}
	if ttl == 0 {
		ttl = s.TokenTTL
	}
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl < time.Minute || ttl > MaxTokenTTL {
		return "", nil, errcode.Input("ttl", "ttl must be between 1m and %s", MaxTokenTTL)
	}
	token, hash := auth.NewOperatorToken()
	now := s.now().UTC().Truncate(time.Microsecond)
	t := &Token{Name: name, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.Store.AddToken(ctx, *t, hash, s.entry(a, ActionIssueToken, name, "")); err != nil {
		return "", nil, fmt.Errorf("add operator token: %w", err)
	}
	s.logger().InfoContext(ctx, "operator token issued", "operator", name, "by", a.Operator, "expires_at", t.ExpiresAt)
	return token, t, nil
}

// Tokens lists the operator tokens (never the tokens themselves).
func (s *Service) Tokens(ctx context.Context) ([]*Token, error) {
	ts, err := s.Store.Tokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("list operator tokens: %w", err)
	}
	return ts, nil
}

// RevokeToken ends the named operator token at once.
func (s *Service) RevokeToken(ctx context.Context, a Actor, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := s.Store.DeleteToken(ctx, name, s.entry(a, ActionRevokeToken, name, "")); err != nil {
		if errcode.Code(err) == errcode.NotFound {
			return errcode.NotFoundf("no operator token named %q", name)
		}
		return fmt.Errorf("revoke operator token: %w", err)
	}
	s.logger().InfoContext(ctx, "operator token revoked", "operator", name, "by", a.Operator)
	return nil
}

func (s *Service) entry(a Actor, action, target, reason string) AuditEntry {
	return AuditEntry{At: s.now().UTC().Truncate(time.Microsecond), Operator: a.Operator, Action: action, Target: target, Reason: reason, ClientIP: a.ClientIP}
}

func userTarget(id int64) string { return "user:" + strconv.FormatInt(id, 10) }

func notFoundOr(err error, userID int64, what string) error {
	if errcode.Code(err) == errcode.NotFound {
		return errcode.NotFoundf("no user %d", userID)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// checkName bounds an operator's name: it is shown in the audit trail and
// named on the command line, so it starts with a letter or digit (never
// a flag's "-"), and it is never CLI's, which the audit reserves for the
// shell.
func checkName(name string) error {
	bad := errcode.Input("name", "an operator's name is 1 to 64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit")
	if name == "" || len(name) > 64 {
		return bad
	}
	for i, r := range name {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("._-@", r)) {
			return bad
		}
	}
	if strings.EqualFold(name, CLI) {
		return errcode.Input("name", "%q is the command line's name in the audit trail: choose another", name)
	}
	return nil
}

// MaskPhone shows the first three and last four digits of a number of
// eleven or more (138****1234), and of a shorter one the last two only.
func MaskPhone(p string) string {
	switch {
	case len(p) >= 11:
		return p[:3] + "****" + p[len(p)-4:]
	case len(p) > 4:
		return strings.Repeat("*", len(p)-2) + p[len(p)-2:]
	}
	return strings.Repeat("*", len(p))
}

// page checks a page's size and cursor.
func page(first int, after, kind string) (limit int, beforeID int64, err error) {
	if first < 1 || first > MaxPage {
		return 0, 0, errcode.Input("first", "first must be between 1 and %d", MaxPage)
	}
	if after == "" {
		return first, 0, nil
	}
	id, ok := DecodeCursor(kind, after)
	if !ok {
		return 0, 0, errcode.Input("after", "after is not a cursor of this list")
	}
	return first, id, nil
}

// EncodeCursor is the opaque cursor after the row id of a list kind.
func EncodeCursor(kind string, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("admin:" + kind + ":v1:" + strconv.FormatInt(id, 10)))
}

// DecodeCursor reads a cursor EncodeCursor made for kind.
func DecodeCursor(kind, c string) (int64, bool) {
	if len(c) > 64 {
		return 0, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(string(b), "admin:"+kind+":v1:")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || EncodeCursor(kind, id) != c {
		return 0, false
	}
	return id, true
}
