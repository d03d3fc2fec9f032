/* Unsupported functions reached through pointers kept in tables. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef int (*runner)(const char *);

pid_t (*forkers[])(void) = { getpid, fork }; /* EXPECT: fork */
runner runners[2] = { puts, system }; /* EXPECT: system */

struct ops { const char *name; int (*exec)(const char *, char *const[]); };
struct ops exec_ops = { "v", execv }; /* EXPECT: execv */

static int (*volatile later)(const char *);
volatile int pick;

int main(int argc, char **argv)
{
	if (argc > 3) forkers[pick]();
	if (argc > 4) runners[pick]("true");
	if (argc > 5) exec_ops.exec("/bin/true", argv);
	static pid_t (*volatile locals[])(void) = { getpid, vfork }; /* EXPECT: vfork */
	if (argc > 7) locals[pick]();
	later = system; /* EXPECT: system */
	if (argc > 6) later("true");
	return 0;
}

/* A table written over several lines: the finding names the line of the entry. */
struct spawner { const char *name; int (*run)(const char *); int flags; };
const struct spawner spawners[] = {
	{ "echo", puts, 0 },
	{
		.name = "shell",
		.run = system, /* EXPECT: system */
		.flags = 1,
	},
};
