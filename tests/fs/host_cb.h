#ifndef SCONE_TESTS_FS_HOST_CB_H
#define SCONE_TESTS_FS_HOST_CB_H
#include "sfs.h"
const struct sfs_callbacks *host_callbacks(void);
#endif
