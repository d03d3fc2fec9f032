/* A build-time generator like sqlite's mksourceid: prints one line, exits 0.
 * Run by Tcl's exec, which fails whenever the child writes to stderr. */
#include <stdio.h>

int main(void)
{
	puts("2022-12-28 14:03:47 df5c253c0b3dd24916e4ec7cf77d3db5294cc9fd45ae7b9c5e82ad8197f38a24");
	return 0;
}
