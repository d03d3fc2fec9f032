"""Benchmarks: each module's ``main()`` prints figures; none asserts a timing."""
