"""Redis 7 (Debian ``redis``): ``make MALLOC=libc``, its own ``./runtest`` (Tcl harness, host tclsh).

redis-server starts bio threads (and jemalloc is replaced by libc malloc,
as upstream allows). The harness itself (tclsh) runs natively and starts
the built ``src/redis-server``, ``redis-cli`` and ``redis-benchmark``, so
with ``scone`` every server and tool it starts is an enclave.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import build, source, suite
from .flavour import Flavour

PACKAGE = "redis"
# BGSAVE/BGREWRITEAOF and replication's disk-based sync fork; the
# supervision helpers exec.
ALLOW = ("fork", "execve", "execv", "execvp")
MAKE = ["MALLOC=libc", "BUILD_TLS=no", "USE_SYSTEMD=no"]
# The enclave's main stack, as large as Linux gives a native main thread
# (RLIMIT_STACK, 8 MiB). lzf_compress keeps a 512 KiB hash table on the
# stack (list compression, RDB); with the default 256 KiB it overflows
# (before stack-clash probing, its sparse stores skipped the one guard page
# and landed in mmap'd memory below: "unknown command" for valid commands;
# repro/stack_frame_skips_guard.c).
STACK = "8M"
# The enclave heap: a Lua loop in unit/latency-monitor SADDs 10^6 members,
# whose dict and its 8 MiB rehash table outgrow the default 64 MiB ("enclave
# heap exhausted"; redis aborts: OUT OF MEMORY). Natively nothing caps it.
HEAP = "1G"


def relinked_server(tree: Path, flavour: Flavour, out: Path, *flags: str) -> Path:
    """redis-server's own link line (``make -n``) run again to ``out`` with
    ``flags`` added (e.g. a network-shield policy): no recompilation."""
    from .relink import relinked

    env = flavour.environ(ALLOW, SCONE_STACK=STACK, SCONE_HEAP=HEAP)
    return relinked(tree / "src", "redis-server", out, env, flags, make_args=(f"CC={flavour.cc}", *MAKE))


def build_tree(flavour: Flavour) -> Path:
    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        env = flavour.environ(ALLOW, SCONE_STACK=STACK, SCONE_HEAP=HEAP)
        build.step(["make", "-j2", f"CC={flavour.cc}", *MAKE], src, env)
        return src
    return build.cached(PACKAGE, flavour, recipe)


# Tests that pass natively and fail in the enclave because the test itself
# (its own body) replicates, saves or rewrites the AOF in the background:
# all of those fork. From the SIM run recorded in tests/apps/RESULTS.md
# (unit: reason). Tests lost there for any other reason are not listed:
# the slow test fails on them until they are explained.
ENCLAVE_NEEDS_FORK: dict[str, str] = {
    'AOF can produce consecutive sequence number after reload': 'integration/aof-multi-part: AOF rewrite forks',
    'AOF enable during BGSAVE will not write data util AOFRW finish': 'integration/aof-multi-part: AOF rewrite forks',
    'AOF enable will create manifest file': 'integration/aof-multi-part: AOF rewrite forks',
    'AOF enable/disable auto gc': 'integration/aof-multi-part: AOF rewrite forks',
    'AOF multiple rewrite failures will open multiple INCR AOFs': 'integration/aof-multi-part: AOF rewrite forks',
    "AOF rewrite doesn't open new aof when AOF turn off": 'integration/aof-multi-part: AOF rewrite forks',
    'AOF will open a temporary INCR AOF to accumulate data until the first AOFRW success when AOF is dynamically enabled': 'integration/aof-multi-part: AOF rewrite forks',
    'AOF will trigger limit when AOFRW fails many times': 'integration/aof-multi-part: AOF rewrite forks',
    'Multi Part AOF can handle appendfilename contains whitespaces': 'integration/aof-multi-part: AOF rewrite forks',
    'Multi Part AOF can load data from old version redis (rdb preamble no)': 'integration/aof-multi-part: AOF rewrite forks',
    'Multi Part AOF can load data from old version redis (rdb preamble yes)': 'integration/aof-multi-part: AOF rewrite forks',
    'Multi Part AOF can upgrade when when two redis share the same server dir (redis1)': 'integration/aof-multi-part: AOF rewrite forks',
    'Multi Part AOF can upgrade when when two redis share the same server dir (redis2)': 'integration/aof-multi-part: AOF rewrite forks',
    'dismiss all data types memory': 'integration/dismiss-mem: AOF rewrite forks',
    'dismiss client output buffer': 'integration/dismiss-mem: BGSAVE forks',
    'dismiss client query buffer': 'integration/dismiss-mem: BGSAVE forks',
    'dismiss replication backlog': 'integration/dismiss-mem: replication: the master forks to send its RDB',
    'BLPOP followed by role change, issue #2473': 'integration/replication: replication: the master forks to send its RDB',
    'Blocked commands and configs during async-loading': 'integration/replication: AOF rewrite forks',
    'Connect multiple replicas at the same time (issue #141), master diskless=no, replica diskless=disabled': 'integration/replication: replication: the master forks to send its RDB',
    'Connect multiple replicas at the same time (issue #141), master diskless=no, replica diskless=swapdb': 'integration/replication: replication: the master forks to send its RDB',
    'Connect multiple replicas at the same time (issue #141), master diskless=yes, replica diskless=disabled': 'integration/replication: replication: the master forks to send its RDB',
    'Connect multiple replicas at the same time (issue #141), master diskless=yes, replica diskless=swapdb': 'integration/replication: replication: the master forks to send its RDB',
    'Discard cache master before loading transferred RDB when full sync': 'integration/replication: replication: the master forks to send its RDB',
    'FLUSHDB / FLUSHALL should replicate': 'integration/replication: reads the replication stream (SYNC): the master forks for its RDB',
    'INCRBYFLOAT replication, should not remove expire': 'integration/replication: replication: the master forks to send its RDB',
    'Kill rdb child process if its dumping RDB is not useful': 'integration/replication: replication: the master forks to send its RDB',
    'Master stream is correctly processed while the replica has a script in -BUSY state': 'integration/replication: replication: the master forks to send its RDB',
    'Set instance A as slave of B': 'integration/replication: replication: the master forks to send its RDB',
    'diskless all replicas drop during rdb pipe': 'integration/replication: replication: the master forks to send its RDB',
    'diskless fast replicas drop during rdb pipe': 'integration/replication: replication: the master forks to send its RDB',
    'diskless loading short read': 'integration/replication: replication: the master forks to send its RDB',
    'diskless no replicas drop during rdb pipe': 'integration/replication: replication: the master forks to send its RDB',
    'diskless replication child being killed is collected': 'integration/replication: replication: the master forks to send its RDB',
    'diskless replication read pipe cleanup': 'integration/replication: replication: the master forks to send its RDB',
    'diskless slow replicas drop during rdb pipe': 'integration/replication: replication: the master forks to send its RDB',
    'diskless timeout replicas drop during rdb pipe': 'integration/replication: replication: the master forks to send its RDB',
    'replica can handle EINTR if use diskless load': 'integration/replication: replication: the master forks to send its RDB',
    'replica do not write the reply to the replication link - PSYNC (_addReplyToBufferOrList)': 'integration/replication: BGSAVE forks',
    'replica do not write the reply to the replication link - PSYNC (addReplyDeferredLen)': 'integration/replication: BGSAVE forks',
    'replica do not write the reply to the replication link - SYNC (_addReplyToBufferOrList)': 'integration/replication: BGSAVE forks',
    'replica do not write the reply to the replication link - SYNC (addReplyDeferredLen)': 'integration/replication: BGSAVE forks',
    'replicaof right after disconnection': 'integration/replication: replication: the master forks to send its RDB',
    'replication child dies when parent is killed - diskless: no': 'integration/replication: replication: the master forks to send its RDB',
    'replication child dies when parent is killed - diskless: yes': 'integration/replication: replication: the master forks to send its RDB',
    'First server should have role slave after SLAVEOF': 'integration/replication-4: replication: the master forks to send its RDB',
    'MASTER and SLAVE consistency with expire': 'integration/replication-3: replication: the master forks to send its RDB',
    'Replication of an expired key does not delete the expired key': 'integration/replication-4: replication: the master forks to send its RDB',
    'Partial resynchronization is successful even client-output-buffer-limit is less than repl-backlog-size': 'integration/replication-buffer: replication: the master forks to send its RDB',
    'Replica client-output-buffer size is limited to backlog_limit/16 when no replication data is pending': 'integration/replication-buffer: replication: the master forks to send its RDB',
    'Replica could use replication buffer (beyond backlog config) for partial resynchronization': 'integration/replication-buffer: replication: the master forks to send its RDB',
    'Replication backlog size can outgrow the backlog limit config': 'integration/replication-buffer: replication: the master forks to send its RDB',
    'Replication buffer will become smaller when no replica uses': 'integration/replication-buffer: replication: the master forks to send its RDB',
    'Slave should be able to synchronize with the master': 'integration/replication-psync: replication: the master forks to send its RDB',
    'Shutting down master waits for replica then aborted': 'integration/shutdown: replication: the master forks to send its RDB',
    'Shutting down master waits for replica then fails': 'integration/shutdown: replication: the master forks to send its RDB',
    'Shutting down master waits for replica timeout': 'integration/shutdown: replication: the master forks to send its RDB',
    'Shutting down master waits for replica to catch up (shutdown)': 'integration/shutdown: replication: the master forks to send its RDB',
    'Shutting down master waits for replica to catch up (sigterm)': 'integration/shutdown: replication: the master forks to send its RDB',
    'AOF rewrite during write load: RDB preamble=no': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite during write load: RDB preamble=yes': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite functions': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite of hash with hashtable encoding, int data': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite of hash with hashtable encoding, string data': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite of hash with listpack encoding, int data': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite of hash with listpack encoding, string data': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite of list with quicklist encoding, int data': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite of list with quicklist encoding, string data': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite of set with hashtable encoding, int data': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite of set with hashtable encoding, string data': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite of set with intset encoding, int data': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite of set with intset encoding, string data': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite of zset with listpack encoding, int data': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite of zset with listpack encoding, string data': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite of zset with skiplist encoding, int data': 'unit/aofrw: AOF rewrite forks',
    'AOF rewrite of zset with skiplist encoding, string data': 'unit/aofrw: AOF rewrite forks',
    'BGREWRITEAOF is delayed if BGSAVE is in progress': 'unit/aofrw: BGSAVE forks',
    'BGREWRITEAOF is refused if already in progress': 'unit/aofrw: AOF rewrite forks',
    'Turning off AOF kills the background writing child if any': 'unit/aofrw: AOF rewrite forks',
    'MASTERAUTH test with binary password': 'unit/auth: replication: the master forks to send its RDB',
    'BITFIELD: setup slave': 'unit/bitfield: replication: the master forks to send its RDB',
    'BITFIELD: write on master, read on slave': 'unit/bitfield: replication: the master forks to send its RDB',
    'All TTL in commands are propagated as absolute timestamp in replication stream': 'unit/expire: reads the replication stream (SYNC): the master forks for its RDB',
    'GETEX propagate as to replica as PERSIST, DEL, or nothing': 'unit/expire: reads the replication stream (SYNC): the master forks for its RDB',
    'RANDOMKEY: Lazy-expire should not be wrapped in MULTI/EXEC': 'unit/expire: reads the replication stream (SYNC): the master forks for its RDB',
    'SCAN: Lazy-expire should not be wrapped in MULTI/EXEC': 'unit/expire: reads the replication stream (SYNC): the master forks for its RDB',
    'SET - use KEEPTTL option, TTL should not be removed after loadaof': 'unit/expire: AOF rewrite forks',
    'GETEX use of PERSIST option should remove TTL after loadaof': 'unit/expire: AOF rewrite forks (its DEBUG LOADAOF relies on the AOF the previous test turned on)',
    'expired key which is created in writeable replicas should be deleted by active expiry': 'unit/expire: AOF rewrite forks',
    'For all replicated TTL-related commands, absolute expire times are identical on primary and replica': 'unit/expire: replication: the master forks to send its RDB',
    'Connect a replica to the master instance': 'unit/functions: replication: the master forks to send its RDB',
    'Disconnecting the replica from master instance': 'unit/functions: replication: the master forks to send its RDB',
    'FUNCTION can processes create, delete and flush commands in AOF when doing "debug loadaof" in read-only slaves': 'unit/functions: AOF rewrite forks',
    'propagation with eviction': 'unit/maxmemory: replication: the master forks to send its RDB',
    'propagation with eviction in MULTI': 'unit/maxmemory: replication: the master forks to send its RDB',
    "replica buffer don't induce eviction": 'unit/maxmemory: replication: the master forks to send its RDB',
    'slave buffer are counted correctly': 'unit/maxmemory: replication: the master forks to send its RDB',
    'MULTI / EXEC is not propagated (single write command)': 'unit/multi: reads the replication stream (SYNC): the master forks for its RDB',
    'MULTI / EXEC is propagated correctly (empty transaction)': 'unit/multi: reads the replication stream (SYNC): the master forks for its RDB',
    'MULTI / EXEC is propagated correctly (multiple commands with SELECT)': 'unit/multi: reads the replication stream (SYNC): the master forks for its RDB',
    'MULTI / EXEC is propagated correctly (multiple commands)': 'unit/multi: reads the replication stream (SYNC): the master forks for its RDB',
    'MULTI / EXEC is propagated correctly (read-only commands)': 'unit/multi: reads the replication stream (SYNC): the master forks for its RDB',
    'MULTI / EXEC is propagated correctly (write command, no effect)': 'unit/multi: reads the replication stream (SYNC): the master forks for its RDB',
    'MULTI / EXEC with REPLICAOF': 'unit/multi: reads the replication stream (SYNC): the master forks for its RDB',
    'MULTI propagation of EVAL': 'unit/multi: reads the replication stream (SYNC): the master forks for its RDB',
    'MULTI propagation of PUBLISH': 'unit/multi: reads the replication stream (SYNC): the master forks for its RDB',
    'MULTI propagation of SCRIPT FLUSH': 'unit/multi: reads the replication stream (SYNC): the master forks for its RDB',
    'MULTI propagation of SCRIPT LOAD': 'unit/multi: reads the replication stream (SYNC): the master forks for its RDB',
    'MULTI propagation of XREADGROUP': 'unit/multi: reads the replication stream (SYNC): the master forks for its RDB',
    'CONFIG SET bind-source-addr': 'unit/networking: replication: the master forks to send its RDB',
    'CONFIG SET oom-score-adj works as expected': 'unit/oom-score-adj: replication: the master forks to send its RDB',
    'BGSAVE': 'unit/other: BGSAVE forks',
    "Don't rehash if redis has child process": 'unit/other: BGSAVE forks',
    'EXPIRES after AOF reload (without rewrite)': 'unit/other: AOF rewrite forks',
    'EXPIRES after a reload (snapshot + append only file rewrite)': 'unit/other: AOF rewrite forks',
    'Same dataset digest if saving/reloading as AOF?': 'unit/other: AOF rewrite forks',
    'MULTI with BGREWRITEAOF': 'unit/multi: AOF rewrite forks',
    'MULTI with config set appendonly': 'unit/multi: AOF rewrite forks',
    'pending querybuf: check size of pending_querybuf after set a big value': 'unit/pendingquerybuf: replication: the master forks to send its RDB',
    'setup replication for following tests': 'unit/pubsubshard: replication: the master forks to send its RDB',
    'Temp rdb will be deleted if we use bg_unlink when shutdown': 'unit/shutdown: BGSAVE forks',
    'BLMPOP propagate as pop with count command to replica': 'unit/type/list: reads the replication stream (SYNC): the master forks for its RDB',
    'LMPOP propagate as pop with count command to replica': 'unit/type/list: reads the replication stream (SYNC): the master forks for its RDB',
    'MULTI + LPUSH + EXPIRE + DEBUG SLEEP on blocked client, key already expired': 'unit/type/list: reads the replication stream (SYNC): the master forks for its RDB',
    'SWAPDB wants to wake blocked client, but the key already expired': 'unit/type/list: reads the replication stream (SYNC): the master forks for its RDB',
    'SRANDMEMBER with a dict containing long chain': 'unit/type/set: BGSAVE forks',
    'Empty stream can be rewrite into AOF correctly': 'unit/type/stream: AOF rewrite forks',
    'Stream can be rewrite into AOF correctly after XDEL lastid': 'unit/type/stream: AOF rewrite forks',
    'Consumer group last ID propagation to slave (NOACK=0)': 'unit/type/stream-cgroups: replication: the master forks to send its RDB',
    'Consumer group last ID propagation to slave (NOACK=1)': 'unit/type/stream-cgroups: replication: the master forks to send its RDB',
    'Consumer without PEL is present in AOF after AOFRW': 'unit/type/stream-cgroups: AOF rewrite forks',
    'Empty stream with no lastid can be rewrite into AOF correctly': 'unit/type/stream-cgroups: AOF rewrite forks',
    'Replication tests of XCLAIM with deleted entries (autclaim=0)': 'unit/type/stream-cgroups: replication: the master forks to send its RDB',
    'Replication tests of XCLAIM with deleted entries (autclaim=1)': 'unit/type/stream-cgroups: replication: the master forks to send its RDB',
    'GETDEL propagate as DEL command to replica': 'unit/type/string: reads the replication stream (SYNC): the master forks for its RDB',
    'GETEX without argument does not propagate to replica': 'unit/type/string: reads the replication stream (SYNC): the master forks for its RDB',
    'BZMPOP propagate as pop with count command to replica': 'unit/type/zset: reads the replication stream (SYNC): the master forks for its RDB',
    'ZMPOP propagate as pop with count command to replica': 'unit/type/zset: reads the replication stream (SYNC): the master forks for its RDB',
    'Setup slave': 'unit/wait: replication: the master forks to send its RDB',
    'SPOP: We can call scripts rewriting client->argv from Lua': 'unit/scripting: reads the replication stream (SYNC): the master forks for its RDB',
    "MGET: mget shouldn't be propagated in Lua": 'unit/scripting: reads the replication stream (SYNC): the master forks for its RDB',
    'EXPIRE: We can call scripts rewriting client->argv from Lua': 'unit/scripting: reads the replication stream (SYNC): the master forks for its RDB',
    'Lua scripts using SELECT are replicated correctly': 'unit/scripting: replication: the master forks to send its RDB',
    'Replication of script multiple pushes to list with BLPOP': 'unit/scripting: replication: the master forks to send its RDB',
    'Test selective replication of certain Redis commands from Lua': 'unit/scripting: replication: the master forks to send its RDB',
    'Using side effects is not a problem with command replication': 'unit/scripting: replication: the master forks to send its RDB',
    'not enough good replicas state change during long script': 'unit/scripting: replication: the master forks to send its RDB',
    'EVALSHA replication when first call is readonly': 'unit/scripting: replication: the master forks to send its RDB',
    "'x' should be '4' for EVALSHA being replicated by effects": 'unit/scripting: replication: the master forks to send its RDB',
    'no-writes shebang flag on replica': 'unit/scripting: replication: the master forks to send its RDB',
    'Timedout scripts and unblocked command': 'unit/scripting: AOF rewrite forks',
    'INCRBYFLOAT: We can call scripts expanding client->argv from Lua': 'unit/scripting: reads the replication stream (SYNC): the master forks for its RDB',
    'Test FLUSHALL aborts bgsave': 'integration/rdb: BGSAVE forks',
    'Test child sending info': 'integration/rdb: BGSAVE forks',
    'bgsave resets the change counter': 'integration/rdb: BGSAVE forks',
    'failed bgsave prevents writes': 'integration/rdb: BGSAVE forks',
    'Connecting as a replica': 'integration/redis-cli: replication: the master forks to send its RDB',
    'Dumping an RDB - functions only: no': 'integration/redis-cli: redis-cli --rdb asks for a SYNC: the master forks for its RDB',
    'Dumping an RDB - functions only: yes': 'integration/redis-cli: redis-cli --rdb asks for a SYNC: the master forks for its RDB',
    'Test when replica paused, offset would not grow': 'unit/pause: replication: the master forks to send its RDB',
    'Test replica offset would grow after unpause': 'unit/pause: replication: the master forks to send its RDB',
    'Generate timestamp annotations in AOF': 'integration/aof: AOF rewrite forks',
    'FUNCTION - creation is replicated to replica': 'unit/functions: replication: the master forks to send its RDB',
    'FUNCTION - call on replica': 'unit/functions: replication: the master forks to send its RDB',
    'FUNCTION - restore is replicated to replica': 'unit/functions: replication: the master forks to send its RDB',
    'FUNCTION - flush is replicated to replica': 'unit/functions: replication: the master forks to send its RDB',
    'FUNCTION - test replication to replica on rdb phase': 'unit/functions: replication: the master forks to send its RDB',
    'FUNCTION - test replication to replica on rdb phase info command': 'unit/functions: replication: the master forks to send its RDB',
    'FUNCTION - create on read only replica': 'unit/functions: replication: the master forks to send its RDB',
    'FUNCTION - delete on read only replica': 'unit/functions: replication: the master forks to send its RDB',
    'FUNCTION - function effect is replicated to replica': 'unit/functions: replication: the master forks to send its RDB',
    'FUNCTION - modify key space of read only replica': 'unit/functions: replication: the master forks to send its RDB',
}
# Tests that pass natively and fail in the enclave only because an earlier
# test in the same server forked, failed there, and so never restored the
# configuration it had changed (test: the forking test and what it left).
ENCLAVE_AFTER_FORK: dict[str, str] = {
    **{name: "unit/type/set: 'SRANDMEMBER with a dict containing long chain' stops at its BGSAVE (fork) "
             "with set-max-intset-entries still 0, so setup_move's {2 3 4} is no intset"
       for name in ('SMOVE basics - from regular set to intset', 'SMOVE basics - from intset to regular set',
                    'SMOVE non existing key', 'SMOVE non existing src set',
                    'SMOVE from regular set to non existing destination set',
                    'SMOVE from intset to non existing destination set')},
    'Multi Part AOF can continue the upgrade from the interrupted upgrade state':
        "integration/aof-multi-part: '... from old version redis (rdb preamble yes)' stops at its BGREWRITEAOF "
        "(fork) before its clean_aof_persistence, so appendonlydir still holds appendonly.aof and the server "
        "loads that instead of moving the old-style file in",
    'reject script do not cause a Lua stack leak':
        "unit/scripting: 'not enough good replicas state change during long script' fails waiting for its "
        "replica (fork) with min-replicas-to-write still 1, so every write answers NOREPLICAS",
}
# Units whose run ends early in the enclave, at a block whose replica never
# syncs (fork); the tests lost there are named above.
ENCLAVE_UNIT_ENDS_EARLY: dict[str, str] = {
    'unit/pause': "its last block waits for a replica: 'Replication not started' ends the unit after "
                  "its last two tests, both replica tests",
}
# Tests that need what the enclave refuses, other than fork.
ENCLAVE_REFUSED: dict[str, str] = {
    'Process title set as expected': "unit/other: redis rewrites its argv strings in place (setproctitle); "
                                     "the enclave's argv are copies in enclave memory, so /proc/PID/cmdline "
                                     "keeps the host's",
    'Crash report generated on DEBUG SEGFAULT': "integration/logging: DEBUG SEGFAULT writes to an anonymous PROT_READ "
                                                "mapping, which is writable in the enclave (SGX1 fixes page "
                                                "permissions when the enclave is built), so nothing faults and the "
                                                "command never replies; and a fault's handler (the crash report) "
                                                "cannot run in the enclave (runtime/untrusted/faults.c)",
}
# Units that need fork throughout, and why: every test of theirs that passes
# natively may be lost in the enclave (where the harness stops such a unit,
# all later tests are). The replication units run master/replica pairs: a
# replica's first full sync makes the master fork (BGSAVE to disk, or a child
# writing the RDB to the socket with diskless sync), so no replica ever syncs
# and each test that replicates, waits for a sync or a WAIT acknowledgement
# fails, or the harness's "replica didn't sync in time" ends the unit.
ENCLAVE_UNITS_NEED_FORK: dict[str, str] = {
    'unit/aofrw': "its first test's 'config set appendonly yes' starts an AOF rewrite (fork), fails, "
                  "and the test client dies on the missing child pid",
    **{unit: "master/replica pairs: the master forks for the first full sync, so no replica ever syncs" for unit in (
        'integration/block-repl', 'integration/replication', 'integration/replication-2',
        'integration/replication-3', 'integration/replication-4', 'integration/replication-buffer',
        'integration/replication-psync', 'integration/psync2', 'integration/psync2-reg',
        'integration/psync2-master-restart', 'integration/psync2-pingoff', 'integration/failover',
        'integration/shutdown', 'unit/wait')},
}
# Tests that, in the enclave, would take every later test of their unit
# with them: one waits with no time limit for a replica to sync (the
# master's fork), until the harness's no-progress timeout (300 s) ends the
# unit; one makes the server exit. The enclave runs skip them (--skiptest);
# each is in ENCLAVE_NEEDS_FORK or ENCLAVE_REFUSED too.
ENCLAVE_SKIP: dict[str, str] = {
    'For all replicated TTL-related commands, absolute expire times are identical on primary and replica':
        'unit/expire: wait_for_ofs_sync',
    'GETEX use of PERSIST option should remove TTL after loadaof':
        'unit/expire: DEBUG LOADAOF without the AOF the previous test failed to turn on: the server exits',
    'Crash report generated on DEBUG SEGFAULT': 'integration/logging: the command never replies (ENCLAVE_REFUSED)',
    'INCRBYFLOAT: We can call scripts expanding client->argv from Lua':
        "unit/scripting: the SYNC of its nested server's replication stream fails inside start_server, "
        "which leaves the harness's server stack without a client for every later test",
}
# Tests failing in the enclave because of a runtime bug: reproducer named.
ENCLAVE_RUNTIME_BUG: dict[str, str] = {}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # runtest colours its [ok]/[err] tags
_OK = re.compile(r"^\[ok\]: (.*?) \(\d+ ms\)$", re.M)
_ERR = re.compile(r"^\[err\]: (.*)$", re.M)
_EXC = re.compile(r"^\[exception\]: (.*)$", re.M)
_TIMEOUT = re.compile(r"^\[TIMEOUT\]", re.M)
_UNITS = re.compile(r"set ::all_tests \{(.*?)\}", re.S)


def all_units(test_helper: str) -> list[str]:
    """The units ``tests/test_helper.tcl`` runs by default, in its order. Pure."""
    m = _UNITS.search(test_helper)
    if not m:
        raise ValueError("tests/test_helper.tcl: no 'set ::all_tests {...}' list")
    return m.group(1).split()


def parse(text: str) -> dict:
    """One runtest output -> names passed, failed (``[err]``), the exception that stopped it. Pure."""
    text = _ANSI.sub("", text)
    exc = _EXC.findall(text)
    return {"ok": _OK.findall(text), "err": [e.split(" in tests/")[0] for e in _ERR.findall(text)],
            "exception": exc[0] if exc else ("harness timeout" if _TIMEOUT.search(text) else None)}


def _workspace(tree: Path) -> Path:
    """A short-named copy of ``tests/`` with the rest of the tree linked in.

    The harness puts each server's unix socket under ``tests/tmp``: under the
    build cache that path passes the 108-byte limit and every server exits. A
    private ``tests/`` also lets units run side by side (each run wipes
    ``tests/tmp`` when it starts).
    """
    ws = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    for entry in tree.iterdir():
        if entry.name != "tests":
            (ws / entry.name).symlink_to(entry)
    shutil.copytree(tree / "tests", ws / "tests", ignore=lambda d, names: ["tmp"] if d == str(tree / "tests") else [])
    (ws / "tests" / "tmp").mkdir()
    return ws


def _kill_left_behind(ws: Path) -> None:
    """SIGKILL the servers a unit left running in ``ws``.

    A test that raises before its own clean-up (in the enclave: one that
    forks) leaves the servers it started by hand; the harness only stops
    those it started itself. Left running they would load the next units.
    """
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and os.readlink(proc / "cwd").startswith(str(ws) + "/"):
                os.kill(int(proc.name), signal.SIGKILL)
        except OSError:
            pass  # gone meanwhile, or not ours to read


def run_unit(tree: Path, flavour: Flavour, unit: str, slot: int = 0, timeout: float = 900) -> dict:
    """``./runtest --single <unit> --clients 1`` in its own workspace and port range.

    ``--durable``: a test that raises (not only one whose assertion fails)
    is reported as ``[err]`` and the unit goes on, so one failing test costs
    only itself. One unit per run bounds a hang to that unit.
    """
    ws = _workspace(tree)
    try:
        base = 20000 + 1000 * slot  # cluster tests also use base+10000
        # In the enclave a BGSAVE (fork) fails, and with the default
        # stop-writes-on-bgsave-error every later write in the unit would
        # fail with MISCONF: this keeps the damage to the test that forked.
        extra = ["--config", "stop-writes-on-bgsave-error", "no"] if flavour.enclave else []
        for name in ENCLAVE_SKIP if flavour.enclave else ():
            extra += ["--skiptest", name]
        rc, text = suite.run(["./runtest", "--single", unit, "--clients", "1", "--timeout", "300", "--durable",
                              "--baseport", str(base), "--portcount", "900", *extra],
                             ws, flavour.environ(ALLOW), timeout)
    finally:
        _kill_left_behind(ws)
        shutil.rmtree(ws, ignore_errors=True)
    res = parse(text)
    if rc is None:
        res["exception"] = res["exception"] or f"no result within {timeout:.0f}s"
    return {"unit": unit, "rc": rc, **res, "log": _ANSI.sub("", text)[-4000:]}


def run_units(tree: Path, flavour: Flavour, units: list[str], jobs: int = 2,
              timeout: float = 900) -> dict[str, dict]:
    """Every unit in ``units``, ``jobs`` at a time: unit -> its ``run_unit`` result."""
    slots = list(range(jobs))

    def one(unit: str) -> dict:
        slot = slots.pop()
        try:
            return run_unit(tree, flavour, unit, slot, timeout)
        finally:
            slots.append(slot)
    with ThreadPoolExecutor(jobs) as pool:
        return {r["unit"]: r for r in pool.map(one, units)}


def runtest(tree: Path, flavour: Flavour, *args: str, timeout: float = 2 * 3600) -> dict:
    """``./runtest --clients 2 [args]`` in one run: counts of ``[ok]`` and the ``[err]`` lines."""
    rc, text = suite.run(["./runtest", "--clients", "2", "--timeout", "1200", *args], tree,
                         flavour.environ(ALLOW), timeout)
    res = parse(text)
    return {"rc": rc, "passed": len(res["ok"]), "failed": res["err"], "log": _ANSI.sub("", text)[-6000:]}
