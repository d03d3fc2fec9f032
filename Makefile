# The two commands of the README:
#   make demo   set up, build samples/hello.c with scone-gcc, sign it, run it in the enclave
#   make test   set up, run the tests
.PHONY: setup demo test test-all bench

setup:
	sh ./setup.sh

demo: setup
	mkdir -p build
	scone-gcc -O2 -o build/hello samples/hello.c
	scone-sign show build/hello
	./build/hello world

test: setup
	python3 -m pytest -q -m "not slow" tests

test-all: setup
	python3 -m pytest -q tests

bench: setup
	python3 -m bench
