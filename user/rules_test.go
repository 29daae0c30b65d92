package user

import (
	"fmt"
	"strings"
	"testing"

	"wxtodo/errcode"
)

// httpsURL returns an https URL of exactly n bytes.
func httpsURL(n int) string {
	const prefix = "https://example.com/"
	return prefix + strings.Repeat("a", n-len(prefix))
}

// HTTPSURL and Brief lend the helpers to the API specs (package user_test).
var HTTPSURL, Brief = httpsURL, brief

// brief quotes s, shortened when it is long, for names and failure
// messages.
func brief(s string) string {
	if r := []rune(s); len(r) > 40 {
		return fmt.Sprintf("%q... (%d characters, %d bytes)", string(r[:20]), len(r), len(s))
	}
	return fmt.Sprintf("%q", s)
}

// show renders an optional field for failure messages.
func show(p *string) string {
	if p == nil {
		return "nil"
	}
	return brief(*p)
}

func ptr(s string) *string { return &s }

// wantBadInput checks that err is BAD_USER_INPUT about field.
func wantBadInput(tb testing.TB, err error, field string) {
	tb.Helper()
	e := errcode.As(err)
	if e == nil {
		tb.Fatalf("got error %v, want BAD_USER_INPUT on %s", err, field)
		return // Fatalf does not return; staticcheck cannot tell through testing.TB
	}
	if e.Code != errcode.BadUserInput || e.Field != field {
		tb.Errorf("got code %q on field %q, want %q on %q", e.Code, e.Field, errcode.BadUserInput, field)
	}
}

func TestNormalizeProfileNickname(t *testing.T) {
	valid := []struct{ name, nickname, want string }{
		{"plain", "Alice", "Alice"},
		{"surrounded by whitespace", " \t Alice Liddell \n", "Alice Liddell"},
		{"64 ASCII characters", strings.Repeat("n", 64), strings.Repeat("n", 64)},
		{"64 multi-byte characters", strings.Repeat("好", 64), strings.Repeat("好", 64)},
		{"64 emoji", strings.Repeat("🐱", 64), strings.Repeat("🐱", 64)},
		{"64 characters inside spaces", "  " + strings.Repeat("m", 64) + "  ", strings.Repeat("m", 64)},
		{"empty clears it", "", ""},
		{"only spaces clear it", "   ", ""},
		{"an emoji joined by zero-width joiners", "👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"},
		{"a letter and a variation selector", "A\ufe0f", "A\ufe0f"},
	}
	for _, c := range valid {
		t.Run(c.name, func(t *testing.T) {
			got, err := NormalizeProfile(ProfileInput{Nickname: ptr(c.nickname)})
			if err != nil {
				t.Fatalf("got error %v, want nickname %s", err, brief(c.want))
			}
			if got.Nickname == nil || *got.Nickname != c.want {
				t.Errorf("got nickname %s, want %s", show(got.Nickname), brief(c.want))
			}
			if got.AvatarURL != nil {
				t.Errorf("got avatarUrl %s, want nil (left as it is)", show(got.AvatarURL))
			}
		})
	}
	bad := []struct{ name, nickname string }{
		{"65 ASCII characters", strings.Repeat("n", 65)},
		{"65 multi-byte characters", strings.Repeat("好", 65)},
		{"NUL", "Al\u0000ice"},
		{"bell", "Al\u0007ice"},
		{"escape", "\u001b[1mAlice"},
		{"newline inside", "Al\nice"},
		{"tab inside", "Al\tice"},
		{"DEL", "Al\u007fice"},
		{"C1 control", "Al\u0085ice"},
		{"only zero-width spaces", "\u200b\u200b"},
		{"only a zero-width joiner and a byte order mark", "\u200d\ufeff"},
		{"only Hangul fillers", "\u3164\u3164"},
		{"only a blank Braille pattern", "\u2800"},
		{"only soft hyphens", "\u00ad\u00ad"},
		{"a right-to-left override", "Alice\u202egnp.exe"},
		{"a left-to-right isolate", "\u2066Alice\u2069"},
		{"a right-to-left mark", "Alice\u200f"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := NormalizeProfile(ProfileInput{Nickname: ptr(c.nickname)})
			wantBadInput(t, err, "nickname")
		})
	}
}

func TestNormalizeProfileAvatarURL(t *testing.T) {
	valid := []struct{ name, avatarURL, want string }{
		{"https URL", "https://example.com/a.png", "https://example.com/a.png"},
		{"with query", "https://thirdwx.qlogo.cn/mmopen/x/132?a=1&b=2", "https://thirdwx.qlogo.cn/mmopen/x/132?a=1&b=2"},
		{"surrounded by spaces", "  https://example.com/b.png  ", "https://example.com/b.png"},
		{"1024 bytes", httpsURL(1024), httpsURL(1024)},
		{"empty clears it", "", ""},
	}
	for _, c := range valid {
		t.Run(c.name, func(t *testing.T) {
			got, err := NormalizeProfile(ProfileInput{AvatarURL: ptr(c.avatarURL)})
			if err != nil {
				t.Fatalf("got error %v, want avatarUrl %s", err, brief(c.want))
			}
			if got.AvatarURL == nil || *got.AvatarURL != c.want {
				t.Errorf("got avatarUrl %s, want %s", show(got.AvatarURL), brief(c.want))
			}
			if got.Nickname != nil {
				t.Errorf("got nickname %s, want nil (left as it is)", show(got.Nickname))
			}
		})
	}
	bad := []struct{ name, avatarURL string }{
		{"http", "http://x"},
		{"http with path", "http://example.com/a.png"},
		{"not a URL", "not a url"},
		{"scheme only", "https://"},
		{"no host", "https:///a.png"},
		{"relative", "/a.png"},
		{"other scheme", "ftp://example.com/a.png"},
		{"javascript", "javascript:alert(1)"},
		{"with credentials", "https://user:pass@example.com/a.png"},
		{"space inside", "https://example.com/a b.png"},
		{"control character", "https://example.com/a\u0000.png"},
		{"1025 bytes", httpsURL(1025)},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := NormalizeProfile(ProfileInput{AvatarURL: ptr(c.avatarURL)})
			wantBadInput(t, err, "avatarUrl")
		})
	}
}

// TestNormalizeProfileBothFields: fields left nil stay nil, and one bad
// field fails the whole input, naming that field.
func TestNormalizeProfileBothFields(t *testing.T) {
	t.Run("nil fields stay nil", func(t *testing.T) {
		got, err := NormalizeProfile(ProfileInput{})
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		if got.Nickname != nil || got.AvatarURL != nil {
			t.Errorf("got nickname %s, avatarUrl %s, want nil, nil", show(got.Nickname), show(got.AvatarURL))
		}
	})
	t.Run("both valid are both trimmed", func(t *testing.T) {
		got, err := NormalizeProfile(ProfileInput{Nickname: ptr(" Both "), AvatarURL: ptr(" https://example.com/3.png ")})
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		if show(got.Nickname) != `"Both"` || show(got.AvatarURL) != `"https://example.com/3.png"` {
			t.Errorf("got nickname %s, avatarUrl %s, want \"Both\", \"https://example.com/3.png\"", show(got.Nickname), show(got.AvatarURL))
		}
	})
	t.Run("a good nickname and a bad avatarUrl", func(t *testing.T) {
		_, err := NormalizeProfile(ProfileInput{Nickname: ptr("New"), AvatarURL: ptr("http://x")})
		wantBadInput(t, err, "avatarUrl")
	})
	t.Run("a bad nickname and a good avatarUrl", func(t *testing.T) {
		_, err := NormalizeProfile(ProfileInput{Nickname: ptr(strings.Repeat("n", 65)), AvatarURL: ptr("https://example.com/new.png")})
		wantBadInput(t, err, "nickname")
	})
}
