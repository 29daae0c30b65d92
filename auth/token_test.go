package auth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"wxtodo/auth"
)

var urlSafeToken = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func TestNewToken(t *testing.T) {
	if auth.TokenLen != 43 {
		t.Fatalf("TokenLen: got %d, want 43 (32 bytes, unpadded base64url)", auth.TokenLen)
	}
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		tok, hash := auth.NewToken()
		if !urlSafeToken.MatchString(tok) {
			t.Fatalf("token %q: want 43 characters of [A-Za-z0-9_-]", tok)
		}
		if seen[tok] {
			t.Fatalf("token %q issued twice", tok)
		}
		seen[tok] = true
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			t.Fatalf("token %q does not decode: %v", tok, err)
		}
		if len(raw) != 32 {
			t.Fatalf("token %q: got %d random bytes, want 32", tok, len(raw))
		}
		if want := sha256.Sum256([]byte(tok)); hash != want {
			t.Fatalf("token %q: got hash %x, want the token's sha256 %x", tok, hash, want)
		}
		got, ok := auth.ParseToken(tok)
		if !ok {
			t.Fatalf("ParseToken(%q): got ok false, want true for a token NewToken issued", tok)
		}
		if got != hash {
			t.Fatalf("ParseToken(%q): got hash %x, want %x (NewToken's)", tok, got, hash)
		}
	}
}

func TestParseTokenRejectsMalformed(t *testing.T) {
	valid, _ := auth.NewToken()
	// The last of 43 characters carries 4 data bits and 2 padding bits;
	// a non-zero padding bit decodes leniently to the same bytes, so a
	// strict parser must refuse it or one token would have several spellings.
	lastBits := map[byte]byte{}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(alphabet); i++ {
		lastBits[alphabet[i]] = byte(i)
	}
	idx := lastBits[valid[42]] | 1 // set the lowest padding bit
	nonCanonical := valid[:42] + string(alphabet[idx])

	tests := []struct {
		name, token string
	}{
		{"empty", ""},
		{"truncated by one", valid[:42]},
		{"truncated by half", valid[:21]},
		{"one character too long", valid + "A"},
		{"padded", valid + "="},
		{"standard base64 plus", "+" + valid[1:]},
		{"standard base64 slash", valid[:10] + "/" + valid[11:]},
		{"space inside", valid[:20] + " " + valid[21:]},
		{"surrounded by spaces", " " + valid[1:42] + " "},
		{"dot", valid[:42] + "."},
		{"non-ASCII", "é" + valid[2:]},
		{"NUL byte", valid[:42] + "\x00"},
		{"non-zero padding bits", nonCanonical},
		{"44 characters of padding", strings.Repeat("=", 44)},
		{"43 characters of padding", strings.Repeat("=", 43)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h, ok := auth.ParseToken(tt.token); ok {
				t.Errorf("ParseToken(%q): got ok true (hash %x), want false", tt.token, h)
			}
		})
	}
}

func FuzzParseToken(f *testing.F) {
	valid, _ := auth.NewToken()
	for _, s := range []string{
		valid,
		valid[:42],
		valid + "=",
		"",
		"garbage",
		"Bearer " + valid,
		strings.Repeat("A", 43),
		strings.Repeat("_", 43),
		strings.Repeat("/", 43),
		strings.Repeat("\xff", 43),
		valid[:42] + "B",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := auth.ParseToken(s) // must not panic
		if !ok {
			return
		}
		if len(s) != 43 {
			t.Fatalf("ParseToken(%q) accepted a token of length %d, want only 43", s, len(s))
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
		if err != nil {
			t.Fatalf("ParseToken(%q) accepted what strict base64url refuses: %v", s, err)
		}
		if len(raw) != 32 {
			t.Fatalf("ParseToken(%q) accepted %d bytes, want 32", s, len(raw))
		}
		if want := sha256.Sum256([]byte(s)); h != want {
			t.Fatalf("ParseToken(%q): got hash %x, want the token's sha256 %x", s, h, want)
		}
		if again := base64.RawURLEncoding.EncodeToString(raw); again != s {
			t.Fatalf("ParseToken(%q) accepted a non-canonical spelling of %q", s, again)
		}
	})
}
