//go:build unix

package secret_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"wxtodo/secret"
)

// TestKeyFileIsPrivateWhateverTheUmask: the data key file and its
// directory are created for their owner only, even under umask 0.
func TestKeyFileIsPrivateWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)

	dir := filepath.Join(t.TempDir(), "keys")
	path := filepath.Join(dir, "data.key")
	if _, err := secret.LoadOrCreateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: got mode %04o, want %04o", filepath.Base(p), got, want)
		}
	}
}
