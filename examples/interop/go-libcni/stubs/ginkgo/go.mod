// Empty stand-in so the libcni module graph resolves offline (libcni needs ginkgo only for its tests).
module github.com/onsi/ginkgo/v2

go 1.19
