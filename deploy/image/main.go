// Command image builds wxtodo's container image as an OCI image tarball
// without a container daemon or a base image to pull: the layer the
// Dockerfile's run stage makes (the static binary, CA certificates, a
// nonroot user) on an empty base, with the Dockerfile's configuration.
// CI builds it with the host's Go toolchain in place of the Dockerfile's
// build stage, and a test runs the binary it holds.
//
//	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /tmp/wxtodo .
//	go run ./deploy/image -binary /tmp/wxtodo -out /tmp/wxtodo-image.tar
//
// The tarball loads into Docker or Podman (docker load -i) and pushes with
// crane (crane push /tmp/wxtodo-image.tar registry/wxtodo).
package main

import (
	"flag"
	"fmt"
	"os"

	"wxtodo/deploy/image/build"
)

func main() {
	bin := flag.String("binary", "", "the static wxtodo binary")
	out := flag.String("out", "wxtodo-image.tar", "where to write the image tarball")
	certs := flag.String("certs", "/etc/ssl/certs/ca-certificates.crt", "the CA certificate bundle to include")
	tag := flag.String("tag", "wxtodo:latest", "the image's name in the tarball")
	flag.Parse()
	size, err := build.Write(*bin, *certs, *tag, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s (%s): %.1f MiB compressed\n", *out, *tag, float64(size)/(1<<20))
}
