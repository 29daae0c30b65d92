package todo

import (
	"context"
	"strings"
	"testing"

	"wxtodo/errcode"
)

// invalidTitles are titles no todo may have.
var invalidTitles = []struct{ name, title string }{
	{"empty", ""},
	{"only spaces", "   "},
	{"only whitespace", " \t\n\r "},
	{"201 ASCII characters", strings.Repeat("a", 201)},
	{"201 multi-byte characters", strings.Repeat("好", 201)},
	{"201 characters inside spaces", "  " + strings.Repeat("b", 201) + "  "},
	{"NUL", "buy\u0000milk"},
	{"only NUL", "\u0000"},
	{"bell", "buy\u0007milk"},
	{"escape", "\u001b[31mred"},
	{"newline inside", "buy\nmilk"},
	{"tab inside", "buy\tmilk"},
	{"DEL", "buy\u007fmilk"},
	{"C1 control", "buy\u0085milk"},
	{"only zero-width spaces", "\u200b\u200c\u200b"},
	{"only a word joiner inside spaces", "  \u2060  "},
	{"only Hangul fillers", "\u3164\u115f\u1160\uffa0"},
	{"only a blank Braille pattern", "\u2800\u2800"},
	{"only variation selectors", "\ufe0f\ufe0e"},
	{"a right-to-left override", "buy milk\u202e"},
	{"a right-to-left embedding", "\u202bbuy\u202c milk"},
	{"a first-strong isolate", "\u2068buy milk\u2069"},
	{"an Arabic letter mark", "buy\u061cmilk"},
}

// validTitles are titles of 1 to 200 characters and what they are stored as.
var validTitles = []struct{ name, title, want string }{
	{"one character", "x", "x"},
	{"200 ASCII characters", strings.Repeat("a", 200), strings.Repeat("a", 200)},
	{"200 multi-byte characters", strings.Repeat("好", 200), strings.Repeat("好", 200)},
	{"200 emoji", strings.Repeat("😀", 200), strings.Repeat("😀", 200)},
	{"200 characters inside spaces", "   " + strings.Repeat("c", 200) + "\t\n", strings.Repeat("c", 200)},
	{"inner spaces kept", "  a  b  ", "a  b"},
	{"an emoji joined by zero-width joiners", "👩\u200d💻", "👩\u200d💻"},
	{"right-to-left script without controls", "اشتر الحليب", "اشتر الحليب"},
}

// invalidClientMutationIDs are keys createTodo refuses: they must be 1 to
// 64 bytes.
var invalidClientMutationIDs = []struct{ name, cmid string }{
	{"empty", ""},
	{"65 bytes", strings.Repeat("k", 65)},
	{"66 bytes in 22 characters", strings.Repeat("好", 22)},
	{"far too long", strings.Repeat("k", 1000)},
}

var validClientMutationIDs = []struct{ name, cmid string }{
	{"1 byte", "k"},
	{"64 bytes", strings.Repeat("k", 64)},
	{"63 bytes in 21 characters", strings.Repeat("好", 21)},
	{"a UUID", "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"},
}

// recordingStore is a Store that records the writes reaching it: the
// rules run before the store, so a rejected input must never get there.
// Methods the tests do not expect are the nil embedded Store's, and panic.
type recordingStore struct {
	Store
	created []CreateInput
	updated []UpdateInput
}

func (s *recordingStore) Create(_ context.Context, _ int64, in CreateInput, _ int) (*Todo, error) {
	s.created = append(s.created, in)
	return &Todo{ID: 1, Title: in.Title, ClientMutationID: in.ClientMutationID}, nil
}

func (s *recordingStore) Update(_ context.Context, _, id int64, in UpdateInput) (*Todo, error) {
	s.updated = append(s.updated, in)
	t := &Todo{ID: id}
	if in.Title != nil {
		t.Title = *in.Title
	}
	return t, nil
}

// wantInputError checks that err is BAD_USER_INPUT about field.
func wantInputError(tb testing.TB, err error, field string) {
	tb.Helper()
	e := errcode.As(err)
	if e == nil || e.Code != errcode.BadUserInput {
		tb.Errorf("got error %v (code %q), want %s", err, errcode.Code(err), errcode.BadUserInput)
		return
	}
	if e.Field != field {
		tb.Errorf("got field %q, want %q (%v)", e.Field, field, err)
	}
}

func TestNormalizeTitle(t *testing.T) {
	for _, c := range invalidTitles {
		t.Run(c.name, func(t *testing.T) {
			got, err := normalizeTitle(c.title)
			wantInputError(t, err, "title")
			if got != "" {
				t.Errorf("got title %q, want none", got)
			}
		})
	}
	for _, c := range validTitles {
		t.Run(c.name, func(t *testing.T) {
			got, err := normalizeTitle(c.title)
			if err != nil {
				t.Fatalf("got error %v, want title %q", err, c.want)
			}
			if got != c.want {
				t.Errorf("got title %q, want %q", got, c.want)
			}
		})
	}
}

func TestCreateChecksInput(t *testing.T) {
	ctx := context.Background()
	str := func(s string) *string { return &s }

	t.Run("a bad title is BAD_USER_INPUT on title and reaches no store", func(t *testing.T) {
		for _, c := range invalidTitles {
			t.Run(c.name, func(t *testing.T) {
				st := &recordingStore{}
				got, err := (&Service{Store: st}).Create(ctx, 1, CreateInput{Title: c.title})
				wantInputError(t, err, "title")
				if got != nil || len(st.created) != 0 {
					t.Errorf("got todo %+v and %d store writes, want none", got, len(st.created))
				}
			})
		}
	})

	t.Run("a good title reaches the store trimmed", func(t *testing.T) {
		for _, c := range validTitles {
			t.Run(c.name, func(t *testing.T) {
				st := &recordingStore{}
				got, err := (&Service{Store: st}).Create(ctx, 1, CreateInput{Title: c.title})
				if err != nil {
					t.Fatalf("got error %v, want a todo", err)
				}
				if len(st.created) != 1 || st.created[0].Title != c.want {
					t.Fatalf("got store writes %+v, want one with title %q", st.created, c.want)
				}
				if got.Title != c.want {
					t.Errorf("got title %q, want %q", got.Title, c.want)
				}
			})
		}
	})

	t.Run("a bad clientMutationId is BAD_USER_INPUT on clientMutationId and reaches no store", func(t *testing.T) {
		for _, c := range invalidClientMutationIDs {
			t.Run(c.name, func(t *testing.T) {
				st := &recordingStore{}
				got, err := (&Service{Store: st}).Create(ctx, 1, CreateInput{Title: "t", ClientMutationID: str(c.cmid)})
				wantInputError(t, err, "clientMutationId")
				if got != nil || len(st.created) != 0 {
					t.Errorf("got todo %+v and %d store writes, want none", got, len(st.created))
				}
			})
		}
	})

	t.Run("a clientMutationId of 1 to 64 bytes reaches the store as sent", func(t *testing.T) {
		for _, c := range validClientMutationIDs {
			t.Run(c.name, func(t *testing.T) {
				st := &recordingStore{}
				if _, err := (&Service{Store: st}).Create(ctx, 1, CreateInput{Title: c.name, ClientMutationID: str(c.cmid)}); err != nil {
					t.Fatalf("got error %v, want a todo", err)
				}
				if len(st.created) != 1 || st.created[0].ClientMutationID == nil || *st.created[0].ClientMutationID != c.cmid {
					t.Errorf("got store writes %+v, want one with clientMutationId %q", st.created, c.cmid)
				}
			})
		}
	})

	t.Run("no clientMutationId is no key", func(t *testing.T) {
		st := &recordingStore{}
		if _, err := (&Service{Store: st}).Create(ctx, 1, CreateInput{Title: "t"}); err != nil {
			t.Fatalf("got error %v, want a todo", err)
		}
		if len(st.created) != 1 || st.created[0].ClientMutationID != nil {
			t.Errorf("got store writes %+v, want one without clientMutationId", st.created)
		}
	})
}

func TestUpdateChecksTitle(t *testing.T) {
	ctx := context.Background()
	t.Run("a bad title is BAD_USER_INPUT on title and reaches no store", func(t *testing.T) {
		for _, c := range invalidTitles {
			t.Run(c.name, func(t *testing.T) {
				st := &recordingStore{}
				done := true
				got, err := (&Service{Store: st}).Update(ctx, 1, "1", UpdateInput{Title: &c.title, Done: &done})
				wantInputError(t, err, "title")
				if got != nil || len(st.updated) != 0 {
					t.Errorf("got todo %+v and %d store writes, want none", got, len(st.updated))
				}
			})
		}
	})

	t.Run("a good title reaches the store trimmed", func(t *testing.T) {
		for _, c := range validTitles {
			t.Run(c.name, func(t *testing.T) {
				st := &recordingStore{}
				got, err := (&Service{Store: st}).Update(ctx, 1, "1", UpdateInput{Title: &c.title})
				if err != nil {
					t.Fatalf("got error %v, want a todo", err)
				}
				if len(st.updated) != 1 || st.updated[0].Title == nil || *st.updated[0].Title != c.want {
					t.Fatalf("got store writes %+v, want one with title %q", st.updated, c.want)
				}
				if got.Title != c.want {
					t.Errorf("got title %q, want %q", got.Title, c.want)
				}
			})
		}
	})
}
