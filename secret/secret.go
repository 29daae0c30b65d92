// Package secret seals small secrets (such as WeChat session keys) for
// storage with AES-256-GCM, so that a database dump alone reveals none of
// them.
//
// A sealed value names the key that sealed it, so keys can be rotated: list
// the new key as primary and the old one as old, re-seal what NeedsRotation
// reports, then drop the old key. Callers pass the owning row's identity
// (e.g. the user id) as additional data, so that a sealed value copied to
// another row does not open there.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a key: AES-256.
const KeySize = 32

// version prefixes every sealed value; a new format gets a new one.
const version = "v1"

// Errors of Open.
var (
	// ErrUnknownKey: the value was sealed under a key not in the keyring
	// (an old key was dropped too early, or the wrong key is configured).
	ErrUnknownKey = errors.New("sealed under an unknown key")
	// ErrInvalid: the value is malformed, tampered with, or sealed with
	// other additional data.
	ErrInvalid = errors.New("invalid sealed value")
)

type key struct {
	id   string   // hex, names the key in sealed values
	sum  [32]byte // tells keys apart whose ids collide
	aead cipher.AEAD
	fp   []byte // HMAC key for Fingerprint, derived from the key
}

// Keyring seals with its primary key and opens with any of its keys.
type Keyring struct {
	primary *key
	keys    map[string]*key
}

// ParseKeys builds a keyring from base64 (standard) keys of KeySize bytes:
// primary seals, primary and old open. Errors name the bad key ("primary",
// "old key 1", ...) but never show it.
func ParseKeys(primary string, old ...string) (*Keyring, error) {
	kr := &Keyring{keys: map[string]*key{}}
	for i, s := range append([]string{primary}, old...) {
		name := "primary"
		if i > 0 {
			name = fmt.Sprintf("old key %d", i)
		}
		k, err := parseKey(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if prev, ok := kr.keys[k.id]; ok {
			if prev.sum == k.sum {
				continue // the same key listed twice is harmless
			}
			return nil, fmt.Errorf("%s: key id %s is taken by another key", name, k.id)
		}
		kr.keys[k.id] = k
		if i == 0 {
			kr.primary = k
		}
	}
	return kr, nil
}

func parseKey(s string) (*key, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(raw) != KeySize {
		return nil, fmt.Errorf("%d bytes, want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	// Domain-separated, so the id says nothing else about the key.
	sum := sha256.Sum256(append([]byte("wxtodo secret key id\x00"), raw...))
	fp := hmac.New(sha256.New, raw)
	fp.Write([]byte("wxtodo secret fingerprint"))
	return &key{id: hex.EncodeToString(sum[:4]), sum: sum, aead: aead, fp: fp.Sum(nil)}, nil
}

// NewKey returns a fresh random key in the form ParseKeys takes.
func NewKey() string {
	raw := make([]byte, KeySize)
	rand.Read(raw) //nolint:errcheck // never fails (crypto/rand)
	return base64.StdEncoding.EncodeToString(raw)
}

// PrimaryID returns the id of the key that seals.
func (kr *Keyring) PrimaryID() string { return kr.primary.id }

// Fingerprint returns a keyed hash (HMAC-SHA256) of b under a key derived
// from the primary key: equal for equal b, so a stored value can be
// compared without opening it, and telling nothing about b without the
// key. It changes when the primary key does.
func (kr *Keyring) Fingerprint(b []byte) []byte {
	m := hmac.New(sha256.New, kr.primary.fp)
	m.Write(b)
	return m.Sum(nil)
}

// String describes the keyring without its keys.
func (kr *Keyring) String() string {
	return fmt.Sprintf("secret.Keyring{primary %s, %d keys}", kr.primary.id, len(kr.keys))
}

// GoString is String, so that %#v shows no key either.
func (kr *Keyring) GoString() string { return kr.String() }

// header is the clear part of a sealed value; it is authenticated too.
func header(id string) string { return version + "." + id + "." }

// Seal encrypts plaintext under the primary key, binding it to aad (pass
// the owner's id). The result, "v1.<key id>.<base64url nonce+ciphertext>",
// is printable and safe to store.
func (kr *Keyring) Seal(plaintext, aad []byte) (string, error) {
	k := kr.primary
	h := header(k.id)
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	rand.Read(nonce) //nolint:errcheck // never fails (crypto/rand)
	out := k.aead.Seal(nonce, nonce, plaintext, additional(h, aad))
	return h + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value from Seal with the key it names and the same aad.
// Errors wrap ErrUnknownKey or ErrInvalid.
func (kr *Keyring) Open(sealed string, aad []byte) ([]byte, error) {
	id, body, ok := split(sealed)
	if !ok {
		return nil, fmt.Errorf("%w: not a %s value", ErrInvalid, version)
	}
	k, ok := kr.keys[id]
	if !ok {
		return nil, fmt.Errorf("%w %s", ErrUnknownKey, id)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) < k.aead.NonceSize()+k.aead.Overhead() {
		return nil, fmt.Errorf("%w: malformed body", ErrInvalid)
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, raw[:n], raw[n:], additional(header(id), aad))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrInvalid)
	}
	return plain, nil
}

// NeedsRotation reports whether sealed is not sealed under the primary key
// (including when it is no sealed value at all), i.e. should be opened and
// sealed again.
func (kr *Keyring) NeedsRotation(sealed string) bool {
	id, _, ok := split(sealed)
	return !ok || id != kr.primary.id
}

// IsSealed reports whether s looks like a value from Seal, to tell sealed
// values from ones stored before sealing was introduced. It does not check
// that s opens.
func IsSealed(s string) bool {
	_, _, ok := split(s)
	return ok
}

func split(sealed string) (id, body string, ok bool) {
	rest, ok := strings.CutPrefix(sealed, version+".")
	if !ok {
		return "", "", false
	}
	id, body, ok = strings.Cut(rest, ".")
	if !ok || len(id) != 8 || body == "" {
		return "", "", false
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", "", false
	}
	return id, body, true
}

// additional binds the header and the caller's aad; the header has a fixed
// length, so the concatenation is unambiguous.
func additional(h string, aad []byte) []byte {
	return append([]byte(h), aad...)
}
