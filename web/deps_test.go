package web_test

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestKnowsNeitherDatabaseNorWeChat checks that web's collaborators come
// in through Config: nothing it imports, even indirectly, is the database
// or WeChat.
func TestKnowsNeitherDatabaseNorWeChat(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "wxtodo/web").Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps wxtodo/web: %v: %s", err, stderr)
	}
	deps := strings.Fields(string(out))
	// An empty or unrelated list would pass vacuously.
	if !slices.Contains(deps, "wxtodo/web") || !slices.Contains(deps, "wxtodo/errcode") {
		t.Fatalf("go list -deps wxtodo/web: got %d packages without wxtodo/web or wxtodo/errcode, want both listed", len(deps))
	}
	for _, dep := range deps {
		for _, banned := range []string{"wxtodo/db", "wxtodo/wechat"} {
			if dep == banned || strings.HasPrefix(dep, banned+"/") {
				t.Errorf("wxtodo/web depends on %s, want neither wxtodo/db nor wxtodo/wechat", dep)
			}
		}
	}
}
