package wxdata_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"wxtodo/apitest"
	"wxtodo/db"
	"wxtodo/db/dbtest"
	"wxtodo/secret"
	"wxtodo/wechat/wechattest"
	"wxtodo/wxdata"
)

// openStores opens the database at url as `wxtodo rekey` does, closed when
// the test ends.
func openStores(tb testing.TB, url string) (*db.DataStore, *db.TokenStore) {
	tb.Helper()
	ctx := context.Background()
	store, err := db.Open(ctx, url, dbtest.Options(url))
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() { store.Close() })
	if err := store.Migrate(ctx); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	if err := store.Prepare(ctx); err != nil {
		tb.Fatalf("prepare: %v", err)
	}
	return db.NewDataStore(store), db.NewTokenStore(store)
}

// keyring parses primary and old keys, which must be valid.
func keyring(tb testing.TB, primary string, old ...string) *secret.Keyring {
	tb.Helper()
	kr, err := secret.ParseKeys(primary, old...)
	if err != nil {
		tb.Fatalf("keys: %v", err)
	}
	return kr
}

// sealedUnder counts the users whose column is sealed under kr's primary
// key.
func sealedUnder(tb testing.TB, s *apitest.Server, column string, kr *secret.Keyring) int {
	tb.Helper()
	return s.Count(tb, "identities", column+" LIKE $1", "%."+kr.PrimaryID()+".%")
}

// TestRekey moves sealed session_keys from a retired DATA_KEY to the
// current one: both of a user's keys are re-sealed (and the current one
// fingerprinted anew), the shared access_token is dropped, and a value no
// configured key opens is dropped too.
func TestRekey(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		ctx := context.Background()
		k1, k2 := secret.NewKey(), secret.NewKey()
		before, after := keyring(t, k1), keyring(t, k2, k1)
		s := apitest.New(t, url, apitest.Options{DataKey: k1})

		// ann logs in twice: a current and a previous session_key.
		annKey := key16(t, "ann's second key")
		s.WeChat.On("ann-2", wechattest.Reply{Body: fmt.Sprintf(`{"openid":%q,"session_key":%q}`, wechattest.OpenID("ann"), annKey)})
		s.Login(t, "ann")
		ann, _ := s.Login(t, "ann-2")
		s.WeChat.SetSessionKey(wechattest.OpenID("ann"), annKey) // what the scripted login handed out
		s.Login(t, "ben")
		s.OK(t, bindPhoneMut, nil, apitest.As(ann), codeVars("rekey-phone")) // stores the access_token
		// cal's key is sealed under a key nobody configures any more.
		lost := apitest.New(t, url, apitest.Options{DataKey: secret.NewKey(), WeChat: s.WeChat})
		cal, _ := lost.Login(t, "cal")

		if n := sealedUnder(t, s, "session_key", before); n != 2 {
			t.Fatalf("got %d session_keys sealed under the old key, want 2 (ann, ben)", n)
		}
		if n := s.Count(t, "wechat_tokens", "token IS NOT NULL"); n != 1 {
			t.Fatalf("got %d stored access_tokens, want 1", n)
		}

		data, tokens := openStores(t, url)
		n, err := wxdata.Rekey(ctx, after, data, tokens)
		if err != nil {
			t.Fatalf("rekey: %v", err)
		}
		if n != 3 {
			t.Errorf("rekey: got %d users rewritten, want 3 (ann, ben, cal)", n)
		}
		if n := sealedUnder(t, s, "session_key", after); n != 2 {
			t.Errorf("got %d session_keys sealed under the new key, want 2 (ann, ben)", n)
		}
		if n := sealedUnder(t, s, "prev_session_key", after); n != 1 {
			t.Errorf("got %d previous session_keys sealed under the new key, want 1 (ann)", n)
		}
		if n := s.Count(t, "identities", "open_id = $1 AND session_key IS NULL", wechattest.OpenID("cal")); n != 1 {
			t.Errorf("cal's session_key, which no key opens: got %d of cal's rows without it, want 1 (dropped)", n)
		}
		var fp []byte
		if err := s.DB.QueryRow("SELECT session_key_fp FROM identities WHERE open_id = $1", wechattest.OpenID("ann")).Scan(&fp); err != nil {
			t.Fatalf("read fingerprint: %v", err)
		}
		if want := after.Fingerprint([]byte(annKey)); !bytes.Equal(fp, want) {
			t.Errorf("ann's session_key_fp: got %x, want %x (under the new key)", fp, want)
		}
		if n := s.Count(t, "wechat_tokens", "token IS NOT NULL"); n != 0 {
			t.Errorf("got %d stored access_tokens after rekey, want 0 (dropped)", n)
		}
		if n, err := wxdata.Rekey(ctx, after, data, tokens); err != nil || n != 0 {
			t.Errorf("rekey again: got %d, %v, want 0 users rewritten", n, err)
		}

		// Without the old key, both of ann's keys still open: data under
		// the current one decrypts, data under the previous one is known
		// for stale (were it not opened, WeChat would call the current key
		// valid and the answer be BAD_USER_INPUT).
		now := apitest.New(t, url, apitest.Options{DataKey: k2, WeChat: s.WeChat})
		now.OK(t, decryptQuery, nil, apitest.As(ann), inputVars(encryptFor(t, annKey, werun(1, wechattest.AppID))))
		now.Fails(t, decryptQuery, "SESSION_KEY_STALE", apitest.As(ann), inputVars(encryptFor(t, wechattest.SessionKey("ann"), werun(2, wechattest.AppID))))
		now.Fails(t, decryptQuery, "SESSION_KEY_STALE", apitest.As(cal), inputVars(encryptFor(t, wechattest.SessionKey("cal"), werun(3, wechattest.AppID))))
	})
}
