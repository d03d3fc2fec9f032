"""SGX structures, enclave layout types, measurement and SIGSTRUCT (pure functions)."""
