package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"wxtodo/apitest"
	"wxtodo/auth"
	"wxtodo/db/dbtest"
	"wxtodo/graph"
	"wxtodo/wechat/wechattest"
)

// spent is WeChat's answer to a code it has already exchanged.
var spent = wechattest.Reply{Errcode: 40163}

// TestLoginSurvivesTheClientGoing: a phone that loses the network after
// WeChat has spent its code does not lose the login: the exchange and the
// sign-in finish without the client, and the retry with the same code
// signs in without asking WeChat again.
func TestLoginSurvivesTheClientGoing(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		s.WeChat.On("dropped", wechattest.Reply{Delay: 300 * time.Millisecond}, spent)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		s.Send(apitest.LoginMutation, codeVars("dropped"), apitest.Context(ctx)) //nolint:errcheck // nobody reads it: the client is gone
		var retry apitest.LoginData
		s.OK(t, apitest.LoginMutation, &retry, codeVars("dropped"))
		if got := s.WeChat.Calls("dropped"); got != 1 {
			t.Errorf("got %d WeChat calls, want 1", got)
		}
		if got := meID(t, s, retry.Login.Token); got != retry.Login.User.ID {
			t.Errorf("retry's token: got user %q, want %q", got, retry.Login.User.ID)
		}
	})
}

// failingSignIn fails the first sign-in, as a database that went away
// after WeChat's answer would.
type failingSignIn struct {
	auth.Store
	failed bool
}

func (f *failingSignIn) SignIn(ctx context.Context, id auth.Identity, sess *auth.Session, codeHash []byte, keep int) (auth.SignedIn, error) {
	if !f.failed {
		f.failed = true
		return auth.SignedIn{}, errors.New("connection reset by peer")
	}
	return f.Store.SignIn(ctx, id, sess, codeHash, keep)
}

// TestLoginKeepsTheExchangeWhenSignInFails: when the sign-in fails after
// WeChat has answered, what WeChat answered is kept, and the retry with
// the same code signs in with it.
func TestLoginKeepsTheExchangeWhenSignInFails(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{Resolver: func(r *graph.Resolver) {
			r.AuthService.Store = &failingSignIn{Store: r.AuthService.Store}
		}})
		s.WeChat.On("flaky-db", wechattest.Reply{UnionID: "union-flaky"}, spent)
		s.Fails(t, apitest.LoginMutation, "INTERNAL_SERVER_ERROR", codeVars("flaky-db"))
		var retry apitest.LoginData
		s.OK(t, apitest.LoginMutation, &retry, codeVars("flaky-db"))
		if !retry.Login.IsNewUser {
			t.Errorf("the retry's sign-in made the user: isNewUser should be true")
		}
		if got := s.WeChat.Calls("flaky-db"); got != 1 {
			t.Errorf("got %d WeChat calls, want 1", got)
		}
		if n := s.Count(t, "identities", "open_id = $1 AND union_id = $2 AND session_key IS NOT NULL", wechattest.OpenID("flaky-db"), "union-flaky"); n != 1 {
			t.Errorf("got %d users with the exchange's openid, unionid and session_key, want 1", n)
		}
	})
}

// TestAbandonedClaimIsTakenOverWithinTheDeadline: a code claimed by a
// login that never finished (its instance crashed) holds a retry back no
// longer than its own request deadline.
func TestAbandonedClaimIsTakenOverWithinTheDeadline(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{RequestTimeout: 3 * time.Second, WeChatTimeout: 500 * time.Millisecond})
		if claimed, _, err := s.Auth.Store.ClaimCode(context.Background(), auth.CodeHash(wechattest.AppID, "crashed"), time.Now()); err != nil || !claimed {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		s.OK(t, apitest.LoginMutation, nil, codeVars("crashed"))
	})
}

// TestCodeReplays: a same-code retry replaces the session the earlier
// login made, so replays add no sessions; after logout the code opens no
// session at all.
func TestCodeReplays(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		s := apitest.New(t, url, apitest.Options{})
		s.WeChat.On("replayed", wechattest.Reply{}, spent)
		var first, again apitest.LoginData
		s.OK(t, apitest.LoginMutation, &first, codeVars("replayed"))
		for range 3 {
			s.OK(t, apitest.LoginMutation, &again, codeVars("replayed"))
		}
		if n := s.Count(t, "sessions", ""); n != 1 {
			t.Errorf("four logins with one code: %d sessions, want 1", n)
		}
		s.Fails(t, meQuery, "UNAUTHENTICATED", apitest.As(first.Login.Token))
		if got := meID(t, s, again.Login.Token); got != first.Login.User.ID {
			t.Errorf("the last retry's token: got user %q, want %q", got, first.Login.User.ID)
		}

		s.OK(t, `mutation { logout }`, nil, apitest.As(again.Login.Token))
		if r := s.Post(t, apitest.LoginMutation, codeVars("replayed")); len(r.Errors) == 0 {
			t.Errorf("the code signed in again after logout: %s", r.Raw)
		}
		if n := s.Count(t, "sessions", ""); n != 0 {
			t.Errorf("after logout and a replay: %d sessions, want 0", n)
		}
	})
}
