#include <stdio.h>
int main(void)
{
	printf("hello from the hook\n");
	return 0;
}
