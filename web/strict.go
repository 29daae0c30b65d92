package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Reasons a GraphQL request body is refused. Their text is what the client
// reads: short, and never an echo of what it sent.
var (
	errNotUTF8       = errors.New("not valid UTF-8")
	errLoneSurrogate = errors.New(`has a \u escape of half a UTF-16 surrogate pair`)
	errNotJSON       = errors.New("not valid JSON")
	errNotObject     = errors.New("not a JSON object")
	errTooDeep       = errors.New("nested too deeply")
)

// maxJSONDepth bounds nesting in a request's JSON; GraphQL variables this
// deep are an attack, not an input.
const maxJSONDepth = 64

// checkJSONObject checks that b is one JSON object a GraphQL server can
// read without guessing: valid UTF-8 (encoding/json would quietly turn
// invalid bytes, and \u escapes of half a surrogate pair, into U+FFFD), no
// key twice in any object (which value wins differs between parsers), and
// at most maxJSONDepth levels deep. members, when set, names top-level
// members and the JSON kind each must have ('s' string, 'o' object), where
// null is allowed too.
func checkJSONObject(b []byte, members map[string]byte) error {
	if !utf8.Valid(b) {
		return errNotUTF8
	}
	if hasLoneSurrogate(b) {
		return errLoneSurrogate
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return errNotJSON
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errNotObject
	}
	if err := checkObject(dec, 1, members); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errNotJSON // something after the object
	}
	return nil
}

// checkObject reads an object's members up to and including its '}'.
func checkObject(dec *json.Decoder, depth int, members map[string]byte) error {
	if depth > maxJSONDepth {
		return errTooDeep
	}
	seen := make(map[string]struct{})
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errNotJSON
		}
		key, ok := tok.(string)
		if !ok {
			return errNotJSON
		}
		if _, dup := seen[key]; dup {
			return fmt.Errorf("has the key %s twice in one object", quoteShort(key))
		}
		seen[key] = struct{}{}
		tok, err = dec.Token()
		if err != nil {
			return errNotJSON
		}
		if want, ok := members[key]; ok && tok != nil {
			if got := kind(tok); got != want {
				return fmt.Errorf("%q must be %s", key, kindName(want))
			}
		}
		if err := checkValue(dec, tok, depth); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return errNotJSON
	}
	return nil
}

// checkValue reads the rest of the value that starts with tok.
func checkValue(dec *json.Decoder, tok json.Token, depth int) error {
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		return checkObject(dec, depth+1, nil)
	case '[':
		if depth+1 > maxJSONDepth {
			return errTooDeep
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return errNotJSON
			}
			if err := checkValue(dec, tok, depth+1); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // ']'
			return errNotJSON
		}
		return nil
	}
	return errNotJSON
}

func kind(tok json.Token) byte {
	switch t := tok.(type) {
	case string:
		return 's'
	case json.Delim:
		if t == '{' {
			return 'o'
		}
		return 'a'
	}
	return '?'
}

func kindName(k byte) string {
	if k == 's' {
		return "a string or null"
	}
	return "an object or null"
}

// quoteShort quotes a key for an error message, cut to 40 bytes so that a
// message never carries much of what the client sent.
func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		return fmt.Sprintf("%q…", s)
	}
	return fmt.Sprintf("%q", s)
}

// hasLoneSurrogate reports whether b, valid UTF-8, has a \uXXXX escape of
// a UTF-16 surrogate (D800–DFFF) that is not half of a high-low pair. It
// only looks at escapes, so it needs no knowledge of where strings are:
// a backslash appears in JSON only inside a string.
func hasLoneSurrogate(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+1 >= len(b) {
			return false
		}
		if b[i+1] != 'u' {
			i++ // an escaped character: \\ \" \n …
			continue
		}
		r, ok := hex4(b, i+2)
		if !ok {
			return false // not JSON: the decoder says so
		}
		i += 5
		switch {
		case r >= 0xD800 && r <= 0xDBFF: // high: a low must follow
			if i+2 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return true
			}
			lo, ok := hex4(b, i+3)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 6
		case r >= 0xDC00 && r <= 0xDFFF: // low without a high
			return true
		}
	}
	return false
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
