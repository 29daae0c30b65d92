package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Reasons a GraphQL request body is refused. Their text is what the client
// reads: short, and never an echo of what it sent.
var (
	errNotUTF8       = errors.New("not valid UTF-8")
	errLoneSurrogate = errors.New(`has a \u escape of half a UTF-16 surrogate pair`)
	errNotJSON       = errors.New("not valid JSON")
	errNotObject     = errors.New("not a JSON object")
	errTooDeep       = errors.New("nested too deeply")
	errDuplicateKey  = errors.New("has a key twice in one object")
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
	if start := bytes.TrimLeft(b, " \t\r\n"); len(start) == 0 || start[0] != '{' {
		return errNotObject
	}
	// jsontext (the encoding/json/v2 scanner) refuses duplicate names at
	// any depth by default, and reads tokens without allocating them.
	dec := jsontext.NewDecoder(bytes.NewBuffer(b))
	var (
		member string // the top-level member whose value comes next
		closed bool   // the top-level object has ended
	)
	for {
		tok, err := dec.ReadToken()
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, jsontext.ErrDuplicateName):
			return errDuplicateKey
		case err != nil:
			return errNotJSON
		}
		depth := dec.StackDepth()
		if depth > maxJSONDepth {
			return errTooDeep
		}
		if closed {
			return errNotJSON // a second value after the object
		}
		closed = depth == 0
		switch {
		case member != "":
			// The value's first token: a '{' is already one level deeper.
			if want := members[member]; want != 0 && tok.Kind() != 'n' && kind(tok.Kind()) != want {
				return fmt.Errorf("%q must be %s", member, kindName(want))
			}
			member = ""
		case depth == 1 && tok.Kind() == '"' && members != nil:
			if _, n := dec.StackIndex(1); n%2 == 1 { // a name, not a value
				name := tok.String()
				if members[name] != 0 {
					member = name
					break
				}
				// encoding/json, which decodes the body after this check,
				// matches names case-insensitively ("Query", "variableſ"):
				// another spelling of a member would get past every check
				// here, or win over the member itself.
				for m := range members {
					if strings.EqualFold(name, m) {
						return fmt.Errorf("has a member spelled like %q in another case", m)
					}
				}
			}
		}
	}
}

// kind is the member kind of a value that starts with a token of k.
func kind(k jsontext.Kind) byte {
	switch k {
	case '"':
		return 's'
	case '{':
		return 'o'
	case '[':
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
