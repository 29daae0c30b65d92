package input

import (
	"strings"
	"testing"

	"wxtodo/errcode"
)

// wantRule checks err against a table's verdict: nil when ok, else a
// BAD_USER_INPUT error naming field, which is what clients act on.
func wantRule(tb testing.TB, err error, ok bool, field string) {
	tb.Helper()
	if ok {
		if err != nil {
			tb.Errorf("got error %v, want none", err)
		}
		return
	}
	e := errcode.As(err)
	if e == nil {
		tb.Fatalf("got error %v, want a BAD_USER_INPUT *errcode.Error", err)
		return // Fatalf does not return; staticcheck cannot tell through testing.TB
	}
	if e.Code != errcode.BadUserInput {
		tb.Errorf("got code %q, want %q", e.Code, errcode.BadUserInput)
	}
	if e.Field != field {
		tb.Errorf("got field %q, want %q", e.Field, field)
	}
	if e.Message == "" {
		tb.Errorf("got an empty message, want one a client can show")
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name string
		s    string
		ok   bool
	}{
		{"empty", "", true},
		{"plain", "buy milk", true},
		{"spaces inside", "  a  b  ", true},
		{"multi-byte", "买牛奶", true},
		{"emoji", "🐱🐶", true},
		{"invalid UTF-8", "a\xff\xfeb", false},
		{"a lone continuation byte", "a\x80", false},
		{"NUL", "a\x00b", false},
		{"bell", "a\x07b", false},
		{"tab", "a\tb", false},
		{"newline", "a\nb", false},
		{"carriage return", "a\rb", false},
		{"escape", "\x1b[1ma", false},
		{"DEL", "a\x7fb", false},
		{"C1 control", "a\u0085b", false},
		{"right-to-left override", "a\u202eb", false},
		{"pop directional formatting", "a\u202cb", false},
		{"right-to-left isolate", "\u2067a", false},
		{"left-to-right mark", "a\u200e", false},
		{"Hebrew without controls", "שלום", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRule(t, Text("title", tt.s), tt.ok, "title")
		})
	}
}

func TestChars(t *testing.T) {
	tests := []struct {
		name     string
		s        string
		min, max int
		ok       bool
	}{
		{"empty with min 0", "", 0, 3, true},
		{"empty with min 1", "", 1, 3, false},
		{"min characters", "a", 1, 3, true},
		{"max ASCII characters", "abc", 1, 3, true},
		{"one ASCII character too many", "abcd", 1, 3, false},
		{"max multi-byte characters (9 bytes)", "好好好", 1, 3, true},
		{"one multi-byte character too many", "好好好好", 1, 3, false},
		{"max emoji (12 bytes)", "🐱🐱🐱", 1, 3, true},
		{"one emoji too many", "🐱🐱🐱🐱", 1, 3, false},
		{"below min", "ab", 3, 5, false},
		{"a control character within the length", "a\x00b", 1, 3, false},
		{"invalid UTF-8 within the length", "a\xff", 1, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRule(t, Chars("nickname", tt.s, tt.min, tt.max), tt.ok, "nickname")
		})
	}
}

func TestBytes(t *testing.T) {
	tests := []struct {
		name     string
		s        string
		min, max int
		ok       bool
	}{
		{"empty with min 0", "", 0, 6, true},
		{"empty with min 1", "", 1, 6, false},
		{"max bytes", "abcdef", 1, 6, true},
		{"one byte too many", "abcdefg", 1, 6, false},
		{"two multi-byte characters are 6 bytes", "好好", 1, 6, true},
		{"three multi-byte characters are 9 bytes", "好好好", 1, 6, false},
		{"below min", "ab", 3, 6, false},
		{"a control character within the length", "a\nb", 1, 6, false},
		{"invalid UTF-8 within the length", "\xff", 1, 6, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRule(t, Bytes("avatarUrl", tt.s, tt.min, tt.max), tt.ok, "avatarUrl")
		})
	}
}

// TestCode: the rules of a one-time code from WeChat, the old login-code
// table among them; login and bindPhoneNumber answer these errors.
func TestCode(t *testing.T) {
	tests := []struct {
		name, code string
		ok         bool
	}{
		{"empty", "", false},
		{"129 bytes", strings.Repeat("a", 129), false},
		{"far too long", strings.Repeat("a", 10_000), false},
		{"space inside", "abc def", false},
		{"leading space", " abcdef", false},
		{"tab", "abc\tdef", false},
		{"newline", "abc\ndef", false},
		{"carriage return", "abc\rdef", false},
		{"NUL", "abc\x00def", false},
		{"DEL", "abc\x7fdef", false},
		{"escape", "abc\x1bdef", false},
		{"non-ASCII", "abcédef", false},
		{"128 bytes", strings.Repeat("b", 128), true},
		{"one byte", "c", true},
		{"WeChat's 32 characters", "0a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P", true},
		{"printable ASCII from ! to ~", "!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRule(t, Code("code", tt.code), tt.ok, "code")
		})
	}
}

// TestRulesNameTheirField: every rule names the field it was given, so
// that each caller's errors point at its own input.
func TestRulesNameTheirField(t *testing.T) {
	for _, field := range []string{"title", "phoneCode"} {
		for _, tt := range []struct {
			rule string
			err  error
		}{
			{"Text", Text(field, "\x00")},
			{"Chars", Chars(field, "toolong", 1, 3)},
			{"Bytes", Bytes(field, "toolong", 1, 3)},
			{"Code", Code(field, "")},
		} {
			t.Run(tt.rule+" "+field, func(t *testing.T) {
				wantRule(t, tt.err, false, field)
			})
		}
	}
}

func TestVisible(t *testing.T) {
	tests := []struct {
		name string
		s    string
		ok   bool
	}{
		{"empty", "", true},
		{"a letter", "a", true},
		{"a letter among zero-width characters", "\u200ba\u200b", true},
		{"an emoji sequence", "👨\u200d👩\u200d👧", true},
		{"a combining mark", "\u0301", true},
		{"spaces", "   ", false},
		{"an ideographic space", "\u3000", false},
		{"zero-width space", "\u200b", false},
		{"zero-width joiners", "\u200d\u200c", false},
		{"byte order mark", "\ufeff", false},
		{"word joiner", "\u2060", false},
		{"soft hyphen", "\u00ad", false},
		{"Hangul fillers", "\u3164\u115f\u1160\uffa0", false},
		{"combining grapheme joiner", "\u034f", false},
		{"variation selectors", "\ufe0f\U000e0100", false},
		{"blank Braille pattern", "\u2800", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRule(t, Visible("title", tt.s), tt.ok, "title")
		})
	}
}
