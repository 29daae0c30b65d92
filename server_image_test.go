package main

// The container image (Dockerfile, deploy/image): built here without a
// daemon, and its binary run in WeChat Cloud Hosting mode.

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/deploy/image/build"
	"wxtodo/secret"
)

// TestImageServesCloudHostingWithoutLogin builds the image as CI does
// (the host's Go toolchain for the Dockerfile's build stage), checks its
// configuration (non-root, port 80, the mode on, CA certificates), and
// runs the binary it holds with the mode's settings: a call that carries
// the platform's headers is signed in with no login.
func TestImageServesCloudHostingWithoutLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a static binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "wxtodo")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tarPath := filepath.Join(dir, "image.tar")
	size, err := build.Write(bin, "/etc/ssl/certs/ca-certificates.crt", "wxtodo:test", tarPath)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(tarPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	if c.User != build.NonRoot || len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/wxtodo" {
		t.Errorf("user %q entrypoint %v, want %s and /wxtodo", c.User, c.Entrypoint, build.NonRoot)
	}
	if _, ok := c.ExposedPorts["80/tcp"]; !ok {
		t.Errorf("exposed ports %v, want 80/tcp", c.ExposedPorts)
	}
	env := map[string]bool{}
	for _, e := range c.Env {
		env[e] = true
	}
	if !env["CLOUD_HOSTING=true"] || !env["PORT=80"] {
		t.Errorf("env %v, want CLOUD_HOSTING=true and PORT=80", c.Env)
	}
	// The binary, as the image holds it.
	files := map[string]bool{}
	fromImage := filepath.Join(dir, "from-image")
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = true
		if h.Name == "wxtodo" {
			f, err := os.OpenFile(fromImage, os.O_CREATE|os.O_WRONLY, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	for _, f := range []string{"wxtodo", "etc/ssl/certs/ca-certificates.crt", "etc/passwd"} {
		if !files[f] {
			t.Errorf("the image has no %s", f)
		}
	}
	t.Logf("image: %.1f MiB compressed", float64(size)/(1<<20))

	// Cloud Hosting mode as the platform runs it (ADDR in place of PORT:
	// port 80 may be taken here).
	p := startBinary(t, fromImage, "CLOUD_HOSTING=true", "ADDR=127.0.0.1:0", "WECHAT_APPID=wx-image-test",
		"DATABASE_URL="+dbtest.PostgresURL(t), "DATA_KEY="+secret.NewKey(), "LOG_LEVEL=info")
	as := []apitest.Option{
		apitest.Header("X-WX-SOURCE", "wx_client"),
		apitest.Header("X-WX-APPID", "wx-image-test"),
		apitest.Header("X-WX-OPENID", "oid-from-the-platform"),
	}
	var d struct{ CreateTodo struct{ ID string } }
	p.OK(t, `mutation { createTodo(input: {title: "no login needed"}) { id } }`, &d, as...)
	var me struct{ Me struct{ ID string } }
	p.OK(t, `{ me { id } }`, &me, as...)
	if d.CreateTodo.ID == "" || me.Me.ID == "" {
		t.Errorf("got todo %q and user %q, want both", d.CreateTodo.ID, me.Me.ID)
	}
	p.Fails(t, `{ me { id } }`, "UNAUTHENTICATED")
}
