// This go.mod only keeps the Go tool out of this folder: node_modules can
// hold .go files, which "go test ./..." in the repository root would try
// to build. There is no Go code here.
module wxtodo/examples/miniprogram

go 1.26.8
