package secret

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// LoadOrCreateKeyFile returns the base64 key stored in the file at path,
// first creating the file with a new key (mode 0600, its directory 0700)
// if it does not exist. Concurrent callers all get the same key. It is for
// development: in production the key comes from the environment (DATA_KEY),
// kept apart from the database. A file readable by others is refused.
func LoadOrCreateKeyFile(path string) (string, error) {
	k, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("key file directory: %w", err)
	}
	// Write the whole key to a private temporary file, then link it into
	// place: readers never see a partial file, and a second process
	// racing this one keeps the first key instead of overwriting it.
	tmp, err := os.CreateTemp(dir, ".key-*") // mode 0600
	if err != nil {
		return "", fmt.Errorf("create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = io.WriteString(tmp, NewKey()+"\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("write key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("create key file: %w", err)
	}
	syncDir(dir)
	return readKeyFile(path)
}

func readKeyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("key file: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("key file %s is accessible to others (mode %04o): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return "", fmt.Errorf("read key file: %w", err)
	}
	k := strings.TrimSpace(string(b))
	if _, err := parseKey(k); err != nil {
		return "", fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// syncDir makes a new directory entry durable; failing that is not fatal,
// as the key is still in place.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync() //nolint:errcheck // best effort
		d.Close()
	}
}
