package graph

import (
	"slices"
	"strings"
	"testing"

	gqlerrcode "github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"

	"wxtodo/errcode"
)

// TestSchemaIsDescribed checks that every type, field, argument, input
// field and enum value of the schema carries a description, since client
// teams read the schema (and generated code) as the API's documentation.
func TestSchemaIsDescribed(t *testing.T) {
	schema := NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema()
	for name, def := range schema.Types {
		if strings.HasPrefix(name, "__") || def.BuiltIn {
			continue
		}
		if strings.TrimSpace(def.Description) == "" {
			t.Errorf("type %s has no description", name)
		}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			if strings.TrimSpace(f.Description) == "" {
				t.Errorf("%s.%s has no description", name, f.Name)
			}
			for _, a := range f.Arguments {
				if strings.TrimSpace(a.Description) == "" {
					t.Errorf("argument %s.%s(%s) has no description", name, f.Name, a.Name)
				}
			}
		}
		for _, v := range def.EnumValues {
			if strings.TrimSpace(v.Description) == "" {
				t.Errorf("enum value %s.%s has no description", name, v.Name)
			}
		}
	}
	for name, d := range schema.Directives {
		if d.Position != nil && d.Position.Src != nil && d.Position.Src.BuiltIn {
			continue
		}
		if strings.TrimSpace(d.Description) == "" {
			t.Errorf("directive @%s has no description", name)
		}
	}
}

// TestSchemaDocumentsExactlyTheErrorCodes checks the ErrorCode and
// ErrorReason enums against errcode's one list of what can reach a
// client: every code and reason is documented, and nothing else is.
func TestSchemaDocumentsExactlyTheErrorCodes(t *testing.T) {
	schema := NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema()
	for _, tt := range []struct {
		enum string
		want []string
	}{
		{"ErrorCode", errcode.Codes},
		{"ErrorReason", errcode.Reasons},
	} {
		def := schema.Types[tt.enum]
		if def == nil || def.Kind != ast.Enum {
			t.Fatalf("the schema has no enum %s", tt.enum)
		}
		var got []string
		for _, v := range def.EnumValues {
			got = append(got, v.Name)
		}
		for _, v := range tt.want {
			if !slices.Contains(got, v) {
				t.Errorf("the server sends %s, but enum %s does not document it", v, tt.enum)
			}
		}
		for _, v := range got {
			if !slices.Contains(tt.want, v) {
				t.Errorf("enum %s documents %s, which is not in errcode's list", tt.enum, v)
			}
		}
	}
}

// TestGqlgenCodesAreInTheList checks that the codes gqlgen itself sends
// are the ones errcode lists.
func TestGqlgenCodesAreInTheList(t *testing.T) {
	for _, tt := range []struct{ ours, gqlgens string }{
		{errcode.ParseFailed, gqlerrcode.ParseFailed},
		{errcode.ValidationFailed, gqlerrcode.ValidationFailed},
	} {
		if tt.ours != tt.gqlgens {
			t.Errorf("errcode has %q where gqlgen sends %q", tt.ours, tt.gqlgens)
		}
	}
}
