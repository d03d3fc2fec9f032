/*
 * Arguments whose meaning depends on another argument (syscalls.tbl kinds
 * ioctl[REQ], fcntl[CMD], semun[CMD]): decoded into a plain in/out/inout
 * buffer of a known size, or a scalar.
 *
 * ioctl: the _IOC direction and size bits say it for every request that
 * has them; the older tty and socket requests, which predate _IOC, are
 * listed with their kernel structures. Any other request without _IOC
 * bits passes its argument as a number: the host gets no enclave memory.
 */
#include "internal.h"
#include "marshal.h"

struct legacy {
	uint32_t req;
	uint8_t kind;
	uint16_t size;
};

#define TERMIOS 36   /* the kernel's struct termios (asm-generic/termbits.h) */
#define IFREQ 40

static const struct legacy legacy_ioctls[] = {
	{ 0x5401, SCONE_ARG_OUT, TERMIOS },     /* TCGETS */
	{ 0x5402, SCONE_ARG_IN, TERMIOS },      /* TCSETS */
	{ 0x5403, SCONE_ARG_IN, TERMIOS },      /* TCSETSW */
	{ 0x5404, SCONE_ARG_IN, TERMIOS },      /* TCSETSF */
	{ 0x540f, SCONE_ARG_OUT, 4 },           /* TIOCGPGRP */
	{ 0x5410, SCONE_ARG_IN, 4 },            /* TIOCSPGRP */
	{ 0x5411, SCONE_ARG_OUT, 4 },           /* TIOCOUTQ */
	{ 0x5413, SCONE_ARG_OUT, 8 },           /* TIOCGWINSZ */
	{ 0x5414, SCONE_ARG_IN, 8 },            /* TIOCSWINSZ */
	{ 0x5415, SCONE_ARG_OUT, 4 },           /* TIOCMGET */
	{ 0x541b, SCONE_ARG_OUT, 4 },           /* FIONREAD */
	{ 0x5421, SCONE_ARG_IN, 4 },            /* FIONBIO */
	{ 0x5429, SCONE_ARG_OUT, 4 },           /* TIOCGSID */
	{ 0x5452, SCONE_ARG_IN, 4 },            /* FIOASYNC */
	{ 0x8910, SCONE_ARG_INOUT, IFREQ },     /* SIOCGIFNAME */
	{ 0x8913, SCONE_ARG_INOUT, IFREQ },     /* SIOCGIFFLAGS */
	{ 0x8915, SCONE_ARG_INOUT, IFREQ },     /* SIOCGIFADDR */
	{ 0x891b, SCONE_ARG_INOUT, IFREQ },     /* SIOCGIFNETMASK */
	{ 0x8921, SCONE_ARG_INOUT, IFREQ },     /* SIOCGIFMTU */
	{ 0x8927, SCONE_ARG_INOUT, IFREQ },     /* SIOCGIFHWADDR */
	{ 0x8933, SCONE_ARG_INOUT, IFREQ },     /* SIOCGIFINDEX */
};

static void ioctl_arg(struct scone_marshal *m, int i, uint32_t req)
{
	unsigned dir = req >> 30, size = (req >> 16) & 0x3fff;
	if (dir && size) {
		/* _IOC_WRITE (1): user -> kernel; _IOC_READ (2): kernel -> user */
		m->dkind[i] = dir == 1 ? SCONE_ARG_IN : dir == 2 ? SCONE_ARG_OUT : SCONE_ARG_INOUT;
		m->dsize[i] = size;
		return;
	}
	for (size_t k = 0; k < sizeof legacy_ioctls / sizeof legacy_ioctls[0]; k++)
		if (legacy_ioctls[k].req == req) {
			m->dkind[i] = legacy_ioctls[k].kind;
			m->dsize[i] = legacy_ioctls[k].size;
			return;
		}
}

#define FLOCK 32     /* struct flock */
static void fcntl_arg(struct scone_marshal *m, int i, long cmd)
{
	switch (cmd) {
	case 5: case 36:                          /* F_GETLK, F_OFD_GETLK */
		m->dkind[i] = SCONE_ARG_INOUT, m->dsize[i] = FLOCK;
		return;
	case 6: case 7: case 37: case 38:         /* F_SETLK(W), F_OFD_SETLK(W) */
		m->dkind[i] = SCONE_ARG_IN, m->dsize[i] = FLOCK;
		return;
	case 16:                                  /* F_GETOWN_EX */
		m->dkind[i] = SCONE_ARG_OUT, m->dsize[i] = 8;
		return;
	case 15:                                  /* F_SETOWN_EX */
		m->dkind[i] = SCONE_ARG_IN, m->dsize[i] = 8;
		return;
	case 1035: case 1037:                     /* F_GET_RW_HINT, F_GET_FILE_RW_HINT */
		m->dkind[i] = SCONE_ARG_OUT, m->dsize[i] = 8;
		return;
	case 1036: case 1038:                     /* F_SET_RW_HINT, F_SET_FILE_RW_HINT */
		m->dkind[i] = SCONE_ARG_IN, m->dsize[i] = 8;
		return;
	}
}

#define SEMID_DS 104   /* struct semid64_ds on x86-64 */
#define SEMINFO 40
static void semun_arg(struct scone_marshal *m, int i, long cmd)
{
	switch (cmd & ~0x100l) {                  /* IPC_64 */
	case 2: case 18:                          /* IPC_STAT, SEM_STAT */
	case 20:                                  /* SEM_STAT_ANY */
		m->dkind[i] = SCONE_ARG_OUT, m->dsize[i] = SEMID_DS;
		return;
	case 1:                                   /* IPC_SET */
		m->dkind[i] = SCONE_ARG_IN, m->dsize[i] = SEMID_DS;
		return;
	case 3: case 19:                          /* IPC_INFO, SEM_INFO */
		m->dkind[i] = SCONE_ARG_OUT, m->dsize[i] = SEMINFO;
		return;
	case 13: case 17:                         /* GETALL, SETALL: the array's size is the set's */
		m->dkind[i] = SCONE_ARG_PTR;      /* refused with EFAULT: not marshalled yet */
		return;
	}
}

void __scone_m_decode(struct scone_marshal *m, int i)
{
	const struct scone_sys_arg *a = &m->d->args[i];
	long sel = m->app[a->size_arg];
	m->dkind[i] = SCONE_ARG_INT;
	m->dsize[i] = 0;
	if (a->kind == SCONE_ARG_IOCTL)
		ioctl_arg(m, i, (uint32_t)sel);
	else if (a->kind == SCONE_ARG_FCNTL)
		fcntl_arg(m, i, sel);
	else
		semun_arg(m, i, sel);
}
