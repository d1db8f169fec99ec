module cnikit.dev/interop/golibcni

go 1.19

require github.com/containernetworking/cni v1.1.2

require (
	github.com/onsi/ginkgo/v2 v2.1.3 // indirect
	github.com/onsi/gomega v1.17.0 // indirect
)

// Offline build: the Debian golang-github-appc-cni-dev sources, and empty test-only stubs.
replace github.com/containernetworking/cni => /usr/share/gocode/src/github.com/containernetworking/cni

replace github.com/onsi/ginkgo/v2 => ./stubs/ginkgo

replace github.com/onsi/gomega => ./stubs/gomega
