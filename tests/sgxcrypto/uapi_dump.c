/* Prints the SGX UAPI as the installed kernel header defines it, then as
 * runtime/untrusted/hw/sgx_uapi.h does: "<name> <value>" per line. */
#include <stddef.h>
#include <stdio.h>

#include <asm/sgx.h>

#include "sgx_uapi.h"

#define P(name, v) printf("%s %llu\n", name, (unsigned long long)(v))

int main(void)
{
	P("kernel.CREATE", SGX_IOC_ENCLAVE_CREATE);
	P("kernel.ADD_PAGES", SGX_IOC_ENCLAVE_ADD_PAGES);
	P("kernel.INIT", SGX_IOC_ENCLAVE_INIT);
	P("kernel.PROVISION", SGX_IOC_ENCLAVE_PROVISION);
	P("kernel.VEPC_REMOVE_ALL", SGX_IOC_VEPC_REMOVE_ALL);
	P("kernel.PAGE_MEASURE", SGX_PAGE_MEASURE);
	P("kernel.sizeof.create", sizeof(struct sgx_enclave_create));
	P("kernel.sizeof.add_pages", sizeof(struct sgx_enclave_add_pages));
	P("kernel.sizeof.init", sizeof(struct sgx_enclave_init));
	P("kernel.sizeof.run", sizeof(struct sgx_enclave_run));
	P("kernel.add_pages.src", offsetof(struct sgx_enclave_add_pages, src));
	P("kernel.add_pages.offset", offsetof(struct sgx_enclave_add_pages, offset));
	P("kernel.add_pages.length", offsetof(struct sgx_enclave_add_pages, length));
	P("kernel.add_pages.secinfo", offsetof(struct sgx_enclave_add_pages, secinfo));
	P("kernel.add_pages.flags", offsetof(struct sgx_enclave_add_pages, flags));
	P("kernel.add_pages.count", offsetof(struct sgx_enclave_add_pages, count));
	P("kernel.run.tcs", offsetof(struct sgx_enclave_run, tcs));
	P("kernel.run.function", offsetof(struct sgx_enclave_run, function));
	P("kernel.run.exception_vector", offsetof(struct sgx_enclave_run, exception_vector));
	P("kernel.run.exception_error_code", offsetof(struct sgx_enclave_run, exception_error_code));
	P("kernel.run.exception_addr", offsetof(struct sgx_enclave_run, exception_addr));
	P("kernel.run.user_handler", offsetof(struct sgx_enclave_run, user_handler));
	P("kernel.run.user_data", offsetof(struct sgx_enclave_run, user_data));
	P("kernel.run.reserved", offsetof(struct sgx_enclave_run, reserved));

	P("scone.CREATE", SCONE_SGX_IOC_ENCLAVE_CREATE);
	P("scone.ADD_PAGES", SCONE_SGX_IOC_ENCLAVE_ADD_PAGES);
	P("scone.INIT", SCONE_SGX_IOC_ENCLAVE_INIT);
	P("scone.PAGE_MEASURE", SCONE_SGX_PAGE_MEASURE);
	P("scone.sizeof.create", sizeof(struct scone_sgx_enclave_create));
	P("scone.sizeof.add_pages", sizeof(struct scone_sgx_enclave_add_pages));
	P("scone.sizeof.init", sizeof(struct scone_sgx_enclave_init));
	P("scone.sizeof.run", sizeof(struct scone_sgx_enclave_run));
	P("scone.add_pages.src", offsetof(struct scone_sgx_enclave_add_pages, src));
	P("scone.add_pages.offset", offsetof(struct scone_sgx_enclave_add_pages, offset));
	P("scone.add_pages.length", offsetof(struct scone_sgx_enclave_add_pages, length));
	P("scone.add_pages.secinfo", offsetof(struct scone_sgx_enclave_add_pages, secinfo));
	P("scone.add_pages.flags", offsetof(struct scone_sgx_enclave_add_pages, flags));
	P("scone.add_pages.count", offsetof(struct scone_sgx_enclave_add_pages, count));
	P("scone.run.tcs", offsetof(struct scone_sgx_enclave_run, tcs));
	P("scone.run.function", offsetof(struct scone_sgx_enclave_run, function));
	P("scone.run.exception_vector", offsetof(struct scone_sgx_enclave_run, exception_vector));
	P("scone.run.exception_error_code", offsetof(struct scone_sgx_enclave_run, exception_error_code));
	P("scone.run.exception_addr", offsetof(struct scone_sgx_enclave_run, exception_addr));
	P("scone.run.user_handler", offsetof(struct scone_sgx_enclave_run, user_handler));
	P("scone.run.user_data", offsetof(struct scone_sgx_enclave_run, user_data));
	P("scone.run.reserved", offsetof(struct scone_sgx_enclave_run, reserved));
	return 0;
}
