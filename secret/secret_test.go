package secret_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"wxtodo/secret"
)

// sealer is what the server's auth package needs of a keyring.
var _ interface {
	Seal(plaintext, aad []byte) (string, error)
	Open(sealed string, aad []byte) ([]byte, error)
	Fingerprint(b []byte) []byte
} = (*secret.Keyring)(nil)

func mustKeys(tb testing.TB, primary string, old ...string) *secret.Keyring {
	tb.Helper()
	kr, err := secret.ParseKeys(primary, old...)
	if err != nil {
		tb.Fatalf("ParseKeys: %v", err)
	}
	return kr
}

func mustSeal(tb testing.TB, kr *secret.Keyring, plain, aad string) string {
	tb.Helper()
	s, err := kr.Seal([]byte(plain), []byte(aad))
	if err != nil {
		tb.Fatalf("Seal: %v", err)
	}
	return s
}

const sessionKey = "tiihtNczf5v6AKRyjwEUhQ==" // what gets sealed in practice

func TestSealOpen(t *testing.T) {
	kr := mustKeys(t, secret.NewKey())
	for _, plain := range []string{sessionKey, "", "x", strings.Repeat("长", 1000)} {
		sealed := mustSeal(t, kr, plain, "user:42")
		got, err := kr.Open(sealed, []byte("user:42"))
		if err != nil {
			t.Fatalf("Open: got error %v, want success", err)
		}
		if string(got) != plain {
			t.Errorf("got %q, want %q", got, plain)
		}
		if len(plain) > 8 && strings.Contains(sealed, plain) {
			t.Errorf("sealed %q contains the plaintext", sealed)
		}
		if !strings.HasPrefix(sealed, "v1."+kr.PrimaryID()+".") || !secret.IsSealed(sealed) || kr.NeedsRotation(sealed) {
			t.Errorf("sealed %q: want v1.%s. prefix, IsSealed, and no rotation needed", sealed, kr.PrimaryID())
		}
		if strings.ContainsAny(sealed, " \n+/=") {
			t.Errorf("sealed %q: want URL-safe text without padding", sealed)
		}
	}
	t.Run("a fresh nonce each time", func(t *testing.T) {
		if a, b := mustSeal(t, kr, sessionKey, "u"), mustSeal(t, kr, sessionKey, "u"); a == b {
			t.Errorf("sealed the same value twice as %q", a)
		}
	})
	t.Run("another keyring cannot open", func(t *testing.T) {
		other := mustKeys(t, secret.NewKey())
		_, err := other.Open(mustSeal(t, kr, sessionKey, "u"), []byte("u"))
		if !errors.Is(err, secret.ErrUnknownKey) {
			t.Errorf("got %v, want ErrUnknownKey", err)
		}
	})
}

func TestOpenRejectsTampering(t *testing.T) {
	kr := mustKeys(t, secret.NewKey())
	sealed := mustSeal(t, kr, sessionKey, "user:42")
	id := kr.PrimaryID()
	body := strings.TrimPrefix(sealed, "v1."+id+".")
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return "v1." + id + "." + base64.RawURLEncoding.EncodeToString(b)
	}
	tests := []struct {
		name, sealed, aad string
		want              error
	}{
		{"wrong aad", sealed, "user:43", secret.ErrInvalid},
		{"no aad", sealed, "", secret.ErrInvalid},
		{"nonce flipped", flip(0), "user:42", secret.ErrInvalid},
		{"ciphertext flipped", flip(14), "user:42", secret.ErrInvalid},
		{"tag flipped", flip(len(raw) - 1), "user:42", secret.ErrInvalid},
		{"truncated", sealed[:len(sealed)-4], "user:42", secret.ErrInvalid},
		{"too short for nonce and tag", "v1." + id + ".AAAA", "user:42", secret.ErrInvalid},
		{"body not base64url", "v1." + id + ".!!!!", "user:42", secret.ErrInvalid},
		{"other version", "v2" + strings.TrimPrefix(sealed, "v1"), "user:42", secret.ErrInvalid},
		{"no version", strings.TrimPrefix(sealed, "v1."), "user:42", secret.ErrInvalid},
		{"key id not hex", "v1.zzzzzzzz." + body, "user:42", secret.ErrInvalid},
		{"empty", "", "user:42", secret.ErrInvalid},
		{"a plain session_key", sessionKey, "user:42", secret.ErrInvalid},
		{"unknown key id", "v1.00000000." + body, "user:42", secret.ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := kr.Open(tt.sealed, []byte(tt.aad))
			if got != nil || !errors.Is(err, tt.want) {
				t.Errorf("got %q, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := secret.NewKey(), secret.NewKey()
	before := mustKeys(t, oldKey)
	sealed := mustSeal(t, before, sessionKey, "user:7")

	during := mustKeys(t, newKey, oldKey)
	if during.PrimaryID() == before.PrimaryID() {
		t.Fatalf("both keys have id %s", during.PrimaryID())
	}
	if !during.NeedsRotation(sealed) {
		t.Errorf("NeedsRotation: got false for a value under the old key, want true")
	}
	plain, err := during.Open(sealed, []byte("user:7"))
	if err != nil || string(plain) != sessionKey {
		t.Fatalf("old key opens: got %q, %v; want %q", plain, err, sessionKey)
	}
	resealed := mustSeal(t, during, string(plain), "user:7")
	if during.NeedsRotation(resealed) {
		t.Errorf("NeedsRotation: got true after resealing, want false")
	}

	after := mustKeys(t, newKey)
	if got, err := after.Open(resealed, []byte("user:7")); err != nil || string(got) != sessionKey {
		t.Errorf("after dropping the old key: got %q, %v; want %q", got, err, sessionKey)
	}
	if _, err := after.Open(sealed, []byte("user:7")); !errors.Is(err, secret.ErrUnknownKey) {
		t.Errorf("value left under the dropped key: got %v, want ErrUnknownKey", err)
	}
	if !after.NeedsRotation("not sealed at all") {
		t.Errorf("NeedsRotation: got false for a value that is not sealed, want true")
	}
}

func TestParseKeys(t *testing.T) {
	good := secret.NewKey()
	b64 := base64.StdEncoding.EncodeToString
	short := b64(make([]byte, 16))
	notB64 := "this is not base64 but long enough to be a secret!"
	tests := []struct {
		name     string
		primary  string
		old      []string
		wantName string // in the error; "" means success
	}{
		{"one key", good, nil, ""},
		{"key with a trailing newline", good + "\n", nil, ""},
		{"primary listed again as old", good, []string{good}, ""},
		{"empty primary", "", nil, "primary"},
		{"primary not base64", notB64, nil, "primary"},
		{"primary of 16 bytes", short, nil, "primary"},
		{"primary of 33 bytes", b64(make([]byte, 33)), nil, "primary"},
		{"url-safe base64", strings.NewReplacer("+", "-", "/", "_").Replace(b64([]byte(strings.Repeat("\xfb", 32)))), nil, "primary"},
		{"second old key bad", good, []string{secret.NewKey(), short}, "old key 2"},
		{"first old key not base64", good, []string{notB64}, "old key 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := secret.ParseKeys(tt.primary, tt.old...)
			if tt.wantName == "" {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got keyring %v, want an error naming %q", kr, tt.wantName)
			}
			if !strings.HasPrefix(err.Error(), tt.wantName+":") {
				t.Errorf("error %q does not name %q", err, tt.wantName)
			}
			for _, k := range append([]string{tt.primary}, tt.old...) {
				if len(k) > 4 && strings.Contains(err.Error(), k) {
					t.Errorf("error %q shows a key", err)
				}
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	k := secret.NewKey()
	kr := mustKeys(t, k)
	a, b := kr.Fingerprint([]byte(sessionKey)), kr.Fingerprint([]byte(sessionKey))
	if !bytes.Equal(a, b) || len(a) != 32 {
		t.Fatalf("got %x and %x, want one 32-byte fingerprint for one value", a, b)
	}
	if bytes.Equal(a, kr.Fingerprint([]byte(sessionKey+"x"))) {
		t.Errorf("different values have the fingerprint %x", a)
	}
	if sum := sha256.Sum256([]byte(sessionKey)); bytes.Equal(a, sum[:]) {
		t.Errorf("the fingerprint is the plain sha256 of the value")
	}
	if got := mustKeys(t, k, secret.NewKey()).Fingerprint([]byte(sessionKey)); !bytes.Equal(got, a) {
		t.Errorf("old keys changed the fingerprint: got %x, want %x", got, a)
	}
	if got := mustKeys(t, secret.NewKey(), k).Fingerprint([]byte(sessionKey)); bytes.Equal(got, a) {
		t.Errorf("another primary key gives the same fingerprint %x", got)
	}
}

func TestKeyringPrintsNoKey(t *testing.T) {
	k := secret.NewKey()
	kr := mustKeys(t, k)
	raw, _ := base64.StdEncoding.DecodeString(k)
	for _, s := range []string{fmt.Sprint(kr), fmt.Sprintf("%+v", kr), fmt.Sprintf("%#v", kr), fmt.Sprintf("%v", *kr)} {
		if strings.Contains(s, k) || strings.Contains(s, string(raw)) || strings.Contains(s, fmt.Sprintf("%x", raw[:8])) {
			t.Errorf("%q shows the key", s)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "keys")
	path := filepath.Join(dir, "data.key")

	k1, err := secret.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := secret.ParseKeys(k1); err != nil {
		t.Fatalf("created key does not parse: %v", err)
	}
	k2, err := secret.LoadOrCreateKeyFile(path)
	if err != nil || k2 != k1 {
		t.Fatalf("reuse: got %q, %v; want the created key", k2, err)
	}
	if runtime.GOOS != "windows" {
		for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s: got mode %04o, want %04o", p, got, want)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("got %d files in the key directory, want 1 (no temporary files left)", len(entries))
	}

	t.Run("concurrent first use agrees on one key", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "race.key")
		keys := make([]string, 16)
		var wg sync.WaitGroup
		for i := range keys {
			wg.Go(func() {
				k, err := secret.LoadOrCreateKeyFile(path)
				if err != nil {
					t.Errorf("LoadOrCreateKeyFile: %v", err)
				}
				keys[i] = k
			})
		}
		wg.Wait()
		for _, k := range keys {
			if k != keys[0] {
				t.Fatalf("got keys %q and %q, want one", keys[0], k)
			}
		}
	})
	t.Run("a key readable by others is refused", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no Unix permissions")
		}
		path := filepath.Join(t.TempDir(), "open.key")
		if err := os.WriteFile(path, []byte(secret.NewKey()+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, 0o644) //nolint:errcheck // umask may have narrowed it
		k, err := secret.LoadOrCreateKeyFile(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("got %q, %v; want an error asking for chmod 600", k, err)
		}
		if strings.Contains(err.Error(), "=") {
			t.Errorf("error %q may show the key", err)
		}
	})
	t.Run("a corrupt key file is an error, not replaced", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bad.key")
		if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := secret.LoadOrCreateKeyFile(path); err == nil {
			t.Fatal("got success, want an error")
		}
		if b, _ := os.ReadFile(path); string(b) != "garbage" {
			t.Errorf("the file was rewritten to %q", b)
		}
	})
}
