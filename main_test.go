package main

import (
	"os"
	"testing"

	"wxtodo/db/dbtest"
)

func TestMain(m *testing.M) {
	// The fault tests run the server as a child process: this test binary,
	// re-executed with WXTODO_TEST_SERVE=1, is the server.
	if os.Getenv("WXTODO_TEST_SERVE") == "1" {
		main()
		return
	}
	os.Exit(dbtest.Run(m))
}
