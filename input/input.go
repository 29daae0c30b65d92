// Package input holds the rules for text that clients send which several
// domains share: text the database can store (valid UTF-8 without control
// characters), lengths in characters or bytes, and one-time codes of
// printable ASCII. Every rule answers a BAD_USER_INPUT error naming the
// field at fault.
package input

import (
	"unicode"
	"unicode/utf8"

	"wxtodo/errcode"
)

// Chars checks that s is text (see Text) of min to max characters.
func Chars(field, s string, minChars, maxChars int) error {
	if err := Text(field, s); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(s); n < minChars || n > maxChars {
		return lengthError(field, minChars, maxChars, "characters")
	}
	return nil
}

// Bytes checks that s is text (see Text) of min to max bytes.
func Bytes(field, s string, minBytes, maxBytes int) error {
	if err := Text(field, s); err != nil {
		return err
	}
	if n := len(s); n < minBytes || n > maxBytes {
		return lengthError(field, minBytes, maxBytes, "bytes")
	}
	return nil
}

// Text rejects what the database must never see, invalid UTF-8 and
// control characters (PostgreSQL refuses NUL bytes outright), and what
// would make text display other than it reads: the bidirectional controls
// (U+202A–U+202E, U+2066–U+2069, the marks U+200E, U+200F, U+061C), which
// reorder what follows them, so that a title can hide or fake its own
// text.
func Text(field, s string) error {
	if !utf8.ValidString(s) {
		return errcode.Input(field, "%s must be valid UTF-8", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return errcode.Input(field, "%s must not contain control characters", field)
		}
		if unicode.Is(unicode.Bidi_Control, r) {
			return errcode.Input(field, "%s must not contain bidirectional control characters (U+%04X)", field, r)
		}
	}
	return nil
}

// Visible checks that s, unless it is empty, shows something: a title or
// nickname of only spaces, zero-width characters, fillers or variation
// selectors reads as empty to whoever sees it.
func Visible(field, s string) error {
	if s == "" {
		return nil
	}
	for _, r := range s {
		if !invisible(r) {
			return nil
		}
	}
	return errcode.Input(field, "%s must have a visible character", field)
}

// invisible reports whether r shows nothing: white space, the format
// characters (zero-width space and joiners, the byte order mark, soft
// hyphen), Unicode's other default-ignorable code points (the Hangul
// fillers among them), variation selectors, and the blank Braille
// pattern, which renders as a space.
func invisible(r rune) bool {
	return unicode.IsSpace(r) ||
		unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r) ||
		r == '\u2800'
}

// MaxCodeLen bounds a one-time code from WeChat; WeChat's are 32
// characters.
const MaxCodeLen = 128

// Code checks a one-time code from WeChat (wx.login, the phone number
// button): 1 to MaxCodeLen printable ASCII characters, no spaces.
func Code(field, s string) error {
	if s == "" {
		return errcode.Input(field, "%s must not be empty", field)
	}
	if len(s) > MaxCodeLen {
		return errcode.Input(field, "%s must be at most %d bytes", field, MaxCodeLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' {
			return errcode.Input(field, "%s must be printable ASCII", field)
		}
	}
	return nil
}

func lengthError(field string, lo, hi int, unit string) error {
	if lo <= 0 {
		return errcode.Input(field, "%s must be at most %d %s", field, hi, unit)
	}
	return errcode.Input(field, "%s must be %d to %d %s", field, lo, hi, unit)
}
