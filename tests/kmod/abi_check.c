/*
 * Host-side check of the ioctl ABI and of the user-space library paths that
 * need no module: prints sizes, offsets and ioctl numbers for the test to
 * compare with values computed by hand from <asm-generic/ioctl.h>.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "scone_kmod_user.h"
#include "uapi/scone_kmod.h"

int main(void)
{
	enum scone_kmod_mode m = SCONE_KMOD_OFF;
	char buf[256];

	printf("sizeof_register %zu\n", sizeof(struct scone_kmod_register));
	printf("offsetof_register_id %zu\n", offsetof(struct scone_kmod_register, id));
	printf("sizeof_wait %zu\n", sizeof(struct scone_kmod_wait));
	printf("offsetof_wait_timeout %zu\n", offsetof(struct scone_kmod_wait, timeout_ns));
	printf("sizeof_unregister %zu\n", sizeof(struct scone_kmod_unregister));
	printf("ioc_register 0x%08lx\n", (unsigned long)SCONE_KMOD_IOC_REGISTER);
	printf("ioc_wait 0x%08lx\n", (unsigned long)SCONE_KMOD_IOC_WAIT);
	printf("ioc_unregister 0x%08lx\n", (unsigned long)SCONE_KMOD_IOC_UNREGISTER);
	printf("mode_null %d\n", scone_kmod_parse_mode(NULL, &m) == 0 && m == SCONE_KMOD_AUTO);
	printf("mode_on %d\n", scone_kmod_parse_mode("on", &m) == 0 && m == SCONE_KMOD_ON);
	printf("mode_off %d\n", scone_kmod_parse_mode("off", &m) == 0 && m == SCONE_KMOD_OFF);
	printf("mode_bad %d\n", scone_kmod_parse_mode("yes", &m) == -EINVAL);
	printf("open_off %d\n", scone_kmod_open(NULL, SCONE_KMOD_OFF));
	printf("open_missing %d\n", scone_kmod_open("/nonexistent/scone", SCONE_KMOD_ON));
	printf("msg_open %s\n", scone_kmod_strerror(SCONE_KMOD_OP_OPEN, -ENOENT, buf, sizeof(buf)));
	printf("msg_wait %s\n", scone_kmod_strerror(SCONE_KMOD_OP_WAIT, -EBUSY, buf, sizeof(buf)));
	return 0;
}
