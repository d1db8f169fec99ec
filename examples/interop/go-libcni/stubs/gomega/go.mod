// Empty stand-in so the libcni module graph resolves offline (libcni needs gomega only for its tests).
module github.com/onsi/gomega

go 1.19
