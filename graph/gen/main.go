// Command gen generates the GraphQL executor: gqlgen's api.Generate with
// gqlgen.yml, then rewrite (see rewrite.go), which marshals lists whose
// elements have no resolver fields in a plain loop instead of a goroutine
// per element. `go generate ./graph` runs it, and so does CI's freshness
// check; never edit graph/generated.go by hand.
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen/config"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "graph/gen:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.LoadConfigFromDefaultLocations()
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("no gqlgen.yml in this directory or above")
	}
	if err != nil {
		return err
	}
	if err := api.Generate(cfg); err != nil {
		return fmt.Errorf("gqlgen: %w", err)
	}
	path := cfg.Exec.Filename
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, _, err := rewrite(src)
	if err != nil {
		return fmt.Errorf("rewrite %s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}
