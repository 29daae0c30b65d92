package wxdata

import (
	"context"
	"errors"
	"fmt"
)

// Keyring seals secrets at rest and opens them again (secret.Keyring:
// AES-GCM under DATA_KEY, with the retired keys of DATA_KEY_OLD).
type Keyring interface {
	Seal(plaintext, aad []byte) (string, error)
	Open(sealed string, aad []byte) ([]byte, error)
	// Fingerprint is a keyed hash of b: equal for equal b, and telling
	// nothing about b without the key.
	Fingerprint(b []byte) []byte
	// NeedsRotation reports whether a retired key sealed the value.
	NeedsRotation(sealed string) bool
}

// sessionKeyAAD binds a sealed session_key to its user's identity, so a
// sealed value copied onto another user's row does not open.
func sessionKeyAAD(appID, openID string) []byte {
	return []byte("wxtodo/session_key\x00" + appID + "\x00" + openID)
}

// SessionKeys seals the session_key of each sign-in (auth's
// SessionKeySealer) in the form the WeChat data features open.
type SessionKeys struct {
	Keyring Keyring
}

// SealSessionKey seals sessionKey, bound to the user's identity, and
// fingerprints it.
func (k SessionKeys) SealSessionKey(appID, openID, sessionKey string) (string, []byte, error) {
	sealed, err := k.Keyring.Seal([]byte(sessionKey), sessionKeyAAD(appID, openID))
	if err != nil {
		return "", nil, fmt.Errorf("seal session_key: %w", err)
	}
	return sealed, k.Keyring.Fingerprint([]byte(sessionKey)), nil
}

// UserKeys are the sealed session_keys of a user's identity in one app,
// and the identity they are bound to.
type UserKeys struct {
	IdentityID        int64
	UserID            int64
	AppID, OpenID     string
	Current, Previous string // sealed; "" when none
}

// TokenDropper forgets the shared access_token, so that the next use
// fetches it again (db.TokenStore).
type TokenDropper interface {
	ClearTokens(ctx context.Context) error
}

// Rekey re-seals every stored session_key that a retired key (DATA_KEY_OLD)
// sealed under the current DATA_KEY, and drops the shared access_token
// (the next use fetches it again). It returns how many identities (a
// user's in one app) it rewrote.
// Values no configured key opens are dropped: they are lost already.
func Rekey(ctx context.Context, keys Keyring, store Store, tokens TokenDropper) (int, error) {
	if err := tokens.ClearTokens(ctx); err != nil {
		return 0, fmt.Errorf("drop access_token: %w", err)
	}
	total := 0
	// A login between reading a user and rewriting them skips the user
	// (their new key is sealed under DATA_KEY already, the previous one
	// maybe not): passes repeat until none is skipped.
	for pass := 0; pass < 5; pass++ {
		n, skipped, err := rekeyPass(ctx, keys, store)
		total += n
		if err != nil || skipped == 0 {
			return total, err
		}
	}
	return total, errors.New("users kept logging in while being re-sealed: run rekey again")
}

func rekeyPass(ctx context.Context, keys Keyring, store Store) (n, skipped int, err error) {
	var after int64
	for {
		batch, err := store.SealedKeysAfter(ctx, after, 500)
		if err != nil {
			return n, skipped, fmt.Errorf("read session keys: %w", err)
		}
		if len(batch) == 0 {
			return n, skipped, nil
		}
		for _, k := range batch {
			after = k.IdentityID
			now, fp, changed, err := reseal(keys, k)
			if err != nil {
				return n, skipped, err
			}
			if !changed {
				continue
			}
			ok, err := store.ReplaceSealedKeys(ctx, k, now, fp)
			if err != nil {
				return n, skipped, fmt.Errorf("user %d, app %s: %w", k.UserID, k.AppID, err)
			}
			if ok {
				n++
			} else {
				skipped++
			}
		}
	}
}

// reseal seals k's keys that a retired key sealed under the current one,
// and fingerprints the current key when it is among them.
func reseal(keys Keyring, k UserKeys) (now UserKeys, fp []byte, changed bool, err error) {
	aad := sessionKeyAAD(k.AppID, k.OpenID)
	now = k
	for _, p := range []*string{&now.Current, &now.Previous} {
		if *p == "" || !keys.NeedsRotation(*p) {
			continue
		}
		changed = true
		plain, err := keys.Open(*p, aad)
		if err != nil {
			*p = "" // no configured key opens it: lost already
			continue
		}
		if *p, err = keys.Seal(plain, aad); err != nil {
			return k, nil, false, fmt.Errorf("seal: %w", err)
		}
		if p == &now.Current {
			fp = keys.Fingerprint(plain)
		}
	}
	return now, fp, changed, nil
}
