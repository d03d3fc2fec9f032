/*
 * copy_file_range, splice and sendfile from and to files in directory
 * argv[1] (and, with argv[2], between it and that directory), and
 * fcntl/flock locks on them: POSIX record locks (a process's
 * own never conflict), OFD locks and flock (per open file description).
 * The output names results, errno values and contents only, so a native
 * run on a plain directory prints the same bytes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sendfile.h>
#include <unistd.h>

static char D[512];
static char *P(const char *name)
{
	static char b[2][600];
	static int i;
	char *s = b[i++ % 2];
	snprintf(s, 600, "%s/%s", D, name);
	return s;
}

static const char *ename(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case EXDEV: return "EXDEV";
	case ESPIPE: return "ESPIPE";
	}
	static char b[16];
	snprintf(b, sizeof b, "errno%d", e);
	return b;
}

#define SHOW(what, expr) do { errno = 0; long r_ = (long)(expr); \
	printf("%-30s %ld %s\n", what, r_, r_ < 0 ? ename(errno) : ""); } while (0)

static unsigned long sum_of(const char *name)
{
	static unsigned char buf[65536];
	int fd = open(P(name), O_RDONLY);
	long n = read(fd, buf, sizeof buf);
	close(fd);
	unsigned long h = 5381;
	for (long i = 0; i < n; i++)
		h = h * 33 + buf[i];
	printf("%s: %ld bytes, sum %lu\n", name, n, h);
	return h;
}

static void getlk(int fd, int cmd, short type, long start, long len)
{
	struct flock f = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	errno = 0;
	long r = fcntl(fd, cmd, &f);
	printf("getlk %ld %s type=%d start=%ld len=%ld pid=%d\n", r, r ? ename(errno) : "", f.l_type,
	       f.l_type == F_UNLCK ? 0 : (long)f.l_start, f.l_type == F_UNLCK ? 0 : (long)f.l_len,
	       f.l_type == F_UNLCK ? 0 : f.l_pid);
}

static long setlk(int fd, int cmd, short type, long start, long len)
{
	struct flock f = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	return fcntl(fd, cmd, &f);
}

int main(int argc, char **argv)
{
	snprintf(D, sizeof D, "%s", argv[1]);
	static char buf[20000];
	for (int i = 0; i < 10000; i++)
		buf[i] = 'A' + i % 23;
	int src = open(P("src"), O_CREAT | O_RDWR | O_TRUNC, 0644);
	SHOW("write src", write(src, buf, 10000));
	SHOW("lseek src 0", lseek(src, 0, SEEK_SET));
	int dst = open(P("dst"), O_CREAT | O_RDWR | O_TRUNC, 0644);

	/* copy_file_range */
	SHOW("cfr whole", copy_file_range(src, 0, dst, 0, 20000, 0));
	SHOW("cfr at eof", copy_file_range(src, 0, dst, 0, 20000, 0));
	SHOW("src pos", lseek(src, 0, SEEK_CUR));
	SHOW("dst pos", lseek(dst, 0, SEEK_CUR));
	loff_t oi = 100, oo = 12000;
	SHOW("cfr offsets", copy_file_range(src, &oi, dst, &oo, 300, 0));
	printf("offsets now %ld %ld\n", (long)oi, (long)oo);
	SHOW("cfr flags", copy_file_range(src, &oi, dst, &oo, 10, 1));
	oi = 0, oo = 10;
	SHOW("cfr overlapping", copy_file_range(dst, &oi, dst, &oo, 100, 0));
	oi = 0, oo = 5000;
	SHOW("cfr same file apart", copy_file_range(dst, &oi, dst, &oo, 100, 0));
	oi = -1, oo = 0;
	SHOW("cfr negative offset", copy_file_range(src, &oi, dst, &oo, 10, 0));
	oi = 9990, oo = 20000;
	SHOW("cfr huge length", copy_file_range(src, &oi, dst, &oo, (size_t)-1 >> 1, 0));
	SHOW("ftruncate dst back", ftruncate(dst, 12300));
	SHOW("cfr zero length", copy_file_range(src, 0, dst, 0, 0, 0));
	sum_of("dst");

	/* splice through a pipe */
	int p[2];
	pipe(p);
	loff_t so = 2000;
	SHOW("splice file to pipe", splice(src, &so, p[1], 0, 4000, 0));
	printf("splice offset %ld\n", (long)so);
	loff_t d2 = 100;
	SHOW("splice pipe to file", splice(p[0], 0, dst, &d2, 4000, 0));
	printf("splice out offset %ld\n", (long)d2);
	SHOW("lseek src 9000", lseek(src, 9000, SEEK_SET));
	SHOW("splice at pos", splice(src, 0, p[1], 0, 4000, 0));
	SHOW("src pos", lseek(src, 0, SEEK_CUR));
	char got[1100] = { 0 };
	SHOW("read pipe", read(p[0], got, sizeof got));
	printf("pipe had [%.10s...%.10s]\n", got, got + 990);

	/* sendfile: file to pipe, file to file */
	off_t sf = 500;
	SHOW("sendfile to pipe", sendfile(p[1], src, &sf, 3000));
	printf("sendfile offset %ld\n", (long)sf);
	SHOW("read pipe", read(p[0], got, 1000));
	printf("pipe had [%.10s]\n", got);
	SHOW("lseek src 0", lseek(src, 0, SEEK_SET));
	SHOW("lseek dst end", lseek(dst, 0, SEEK_END));
	SHOW("sendfile file to file", sendfile(dst, src, 0, 700));
	SHOW("src pos", lseek(src, 0, SEEK_CUR));
	close(p[0]);
	close(p[1]);
	close(src);
	close(dst);
	sum_of("dst");
	sum_of("src");

	/* locks */
	int f1 = open(P("dst"), O_RDWR), f2 = open(P("dst"), O_RDWR), ro = open(P("dst"), O_RDONLY);
	SHOW("posix wrlck f1", setlk(f1, F_SETLK, F_WRLCK, 0, 10));
	getlk(f2, F_GETLK, F_WRLCK, 0, 10);
	SHOW("posix wrlck f2", setlk(f2, F_SETLK, F_WRLCK, 5, 10));
	SHOW("posix unlck", setlk(f2, F_SETLK, F_UNLCK, 0, 0));
	SHOW("posix wrlck rdonly", setlk(ro, F_SETLK, F_WRLCK, 0, 1));
	SHOW("posix bad type", setlk(f1, F_SETLK, 7, 0, 1));
	SHOW("ofd wrlck f1 0-100", setlk(f1, F_OFD_SETLK, F_WRLCK, 0, 100));
	SHOW("ofd wrlck f2 50-60", setlk(f2, F_OFD_SETLK, F_WRLCK, 50, 10));
	getlk(f2, F_OFD_GETLK, F_RDLCK, 50, 10);
	getlk(f1, F_OFD_GETLK, F_WRLCK, 50, 10);
	SHOW("ofd rdlck f2 100-200", setlk(f2, F_OFD_SETLK, F_RDLCK, 100, 100));
	SHOW("ofd rdlck ro 150-160", setlk(ro, F_OFD_SETLK, F_RDLCK, 150, 10));
	SHOW("ofd wrlck f1 150", setlk(f1, F_OFD_SETLK, F_WRLCK, 150, 1));
	SHOW("ofd unlock f1 40-70", setlk(f1, F_OFD_SETLK, F_UNLCK, 40, 30));
	SHOW("ofd wrlck f2 50-60", setlk(f2, F_OFD_SETLK, F_WRLCK, 50, 10));
	SHOW("ofd wrlck f2 30", setlk(f2, F_OFD_SETLK, F_WRLCK, 30, 1));
	getlk(f2, F_OFD_GETLK, F_WRLCK, 0, 0);
	int dup1 = dup(f1);
	SHOW("ofd via dup of f1 55", setlk(dup1, F_OFD_SETLK, F_WRLCK, 55, 1));
	SHOW("close f2", close(f2));
	SHOW("ofd via dup of f1 55", setlk(dup1, F_OFD_SETLK, F_WRLCK, 55, 1));
	struct flock bad = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_pid = 1 };
	SHOW("ofd with l_pid", fcntl(f1, F_OFD_SETLK, &bad));
	/* the limits: a range past the largest offset, negative lengths, bad whence */
	SHOW("ofd end overflows", setlk(f1, F_OFD_SETLK, F_WRLCK, 0x7fffffffffffff00L, 0x1000));
	SHOW("ofd to the last byte", setlk(f1, F_OFD_SETLK, F_WRLCK, 0x7fffffffffffff00L, 0x100));
	SHOW("ofd negative len", setlk(f1, F_OFD_SETLK, F_RDLCK, 1000, -10));
	SHOW("ofd negative start", setlk(f1, F_OFD_SETLK, F_RDLCK, 5, -10));
	struct flock cur = { .l_type = F_RDLCK, .l_whence = SEEK_CUR, .l_start = 0x7fffffffffffffffL, .l_len = 1 };
	lseek(f1, 10, SEEK_SET);
	SHOW("ofd cur overflows", fcntl(f1, F_OFD_SETLK, &cur));
	cur.l_whence = 9;
	SHOW("ofd bad whence", fcntl(f1, F_OFD_SETLK, &cur));
	/* flock */
	int f3 = open(P("dst"), O_RDONLY);
	SHOW("flock ex f1", flock(f1, LOCK_EX));
	SHOW("flock sh f3 nb", flock(f3, LOCK_SH | LOCK_NB));
	SHOW("flock ex dup nb", flock(dup1, LOCK_EX | LOCK_NB));
	SHOW("flock un f1", flock(f1, LOCK_UN));
	SHOW("flock sh f3 nb", flock(f3, LOCK_SH | LOCK_NB));
	SHOW("flock sh f1 nb", flock(f1, LOCK_SH | LOCK_NB));
	SHOW("flock ex f1 nb", flock(f1, LOCK_EX | LOCK_NB));
	SHOW("close f3", close(f3));
	SHOW("flock ex f1 nb", flock(f1, LOCK_EX | LOCK_NB));
	SHOW("flock bad op", flock(f1, 3));
	close(f1);
	close(dup1);
	close(ro);
	sum_of("dst");
	if (argc > 2) {                              /* across: in and out of the region */
		char out[600];
		snprintf(out, sizeof out, "%s/out", argv[2]);
		int in = open(P("dst"), O_RDONLY), o = open(out, O_CREAT | O_RDWR | O_TRUNC, 0644);
		SHOW("cfr out of the region", copy_file_range(in, 0, o, 0, 100000, 0));
		SHOW("lseek out 0", lseek(o, 0, SEEK_SET));
		int back = open(P("back"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
		SHOW("sendfile into the region", sendfile(back, o, 0, 100000));
		close(in), close(o), close(back);
		sum_of("back");
	}
	return 0;
}
