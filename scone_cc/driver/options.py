"""gcc's command line, classified by one sorted table.

Each entry is (name, syntax, role). Syntax says how the option takes its
value: ``flag`` (none), ``joined`` (``-Wl,x``), ``separate`` (``-Xlinker x``)
or ``joined-or-separate`` (``-lm`` or ``-l m``). Role says what the driver
does with it:

* ``compile-only``  its presence means gcc will not link (``-c -S -E -M``);
* ``link-only``     meaningful to the link; forwarded as is;
* ``driver``        link shape the driver decides itself (always static:
  ``-static``, ``-pie``, ``-nostdlib`` ...); forwarded on the compile path,
  applied by the driver on the link path;
* ``driver-info``   makes gcc print something and stop (``-print-*``);
* ``forbidden``     cannot work in an enclave: one error with the fix;
* ``passthrough``   forwarded as is (so are options missing from the table);
* ``scone``         the driver's own ``--scone-*`` options, never forwarded.

``alias`` names the one-dash spelling of a two-dash option that gcc accepts
as the same (``--print-file-name=X`` is ``-print-file-name=X``): the
driver answers both alike, and gcc still gets the user's own words. The
``--scone-*`` entries carry their environment variable, value name and
help text: ``scone-gcc --help`` and the settings are made from them.

The classification is a pure function: argv in, Invocation out. Words are
never re-split or re-quoted.
"""

from collections import namedtuple

from scone_cc.errors import SconeError

FLAG, JOINED, SEPARATE, JOINED_OR_SEPARATE = "flag", "joined", "separate", "joined-or-separate"
COMPILE_ONLY, LINK_ONLY, DRIVER = "compile-only", "link-only", "driver"
INFO, FORBIDDEN, PASSTHROUGH, SCONE = "driver-info", "forbidden", "passthrough", "scone"

Option = namedtuple("Option", "name syntax role why alias env meta help",
                    defaults=("", "", "", "", ""))

_SHARED_WHY = (
    "an enclave program is one static executable and cannot load shared "
    "objects; build a static library instead (ar rcs libNAME.a *.o) and "
    "link it with -lNAME")
_BITS_WHY = "scone builds x86-64 enclaves only; drop this option"

# Sorted by name (a test checks it). Long forms gcc maps to short ones are
# listed where build systems are known to use them.
TABLE = (
    Option("--assemble", FLAG, COMPILE_ONLY),
    Option("--compile", FLAG, COMPILE_ONLY),
    Option("--help", FLAG, INFO),
    Option("--output", SEPARATE, PASSTHROUGH),
    Option("--output=", JOINED, PASSTHROUGH),
    Option("--param", SEPARATE, PASSTHROUGH),
    Option("--param=", JOINED, PASSTHROUGH),
    Option("--preprocess", FLAG, COMPILE_ONLY),
    Option("--print-file-name", SEPARATE, INFO, alias="-print-file-name="),
    Option("--print-file-name=", JOINED, INFO, alias="-print-file-name="),
    Option("--print-libgcc-file-name", FLAG, INFO, alias="-print-libgcc-file-name"),
    Option("--print-multi-directory", FLAG, INFO, alias="-print-multi-directory"),
    Option("--print-multi-lib", FLAG, INFO, alias="-print-multi-lib"),
    Option("--print-multi-os-directory", FLAG, INFO, alias="-print-multi-os-directory"),
    Option("--print-multiarch", FLAG, INFO, alias="-print-multiarch"),
    Option("--print-prog-name", SEPARATE, INFO, alias="-print-prog-name="),
    Option("--print-prog-name=", JOINED, INFO, alias="-print-prog-name="),
    Option("--print-search-dirs", FLAG, INFO, alias="-print-search-dirs"),
    Option("--print-sysroot", FLAG, INFO, alias="-print-sysroot"),
    Option("--print-sysroot-headers-suffix", FLAG, INFO, alias="-print-sysroot-headers-suffix"),
    Option("--scone-allow=", JOINED, SCONE, env="SCONE_ALLOW", meta="NAME[,NAME]",
           help="link although the program calls NAME (fork, system, execve...); "
                "those calls fail with ENOSYS at run time"),
    Option("--scone-cas-key=", JOINED, SCONE, meta="SHA256",
           help="pin the CAS whose key has this SHA-256 (scone-cas identity): before main the "
                "enclave attests to it and gets its arguments, environment and secrets; "
                "signed; implies --scone-crypto"),
    Option("--scone-console", FLAG, SCONE, env="SCONE_CONSOLE",
           help="encrypt the standard streams: fd 0/1/2 framed with AES-256-GCM under a "
                "session key the client holds (scone-console run); signed; implies --scone-crypto"),
    Option("--scone-crypto", FLAG, SCONE, env="SCONE_CRYPTO",
           help="link the shields' crypto library (<scone/crypto.h>, OpenSSL 3.0 inside, "
                "symbols hidden); built once into the cache on first use"),
    Option("--scone-fs-tag=", JOINED, SCONE, meta="PREFIX:TAG",
           help="the expected tag of the volume of an encrypted or authenticated region "
                "(repeatable; `scone-fs tag` prints it): any other volume stops the start; "
                "the volume is then read-only; signed"),
    Option("--scone-fs=", JOINED, SCONE, env="SCONE_FS", meta="PREFIX:MODE[:KEYSRC]",
           help="a file-system shield region (repeatable; SCONE_FS: comma-separated): MODE "
                "encrypted, authenticated, ephemeral or unprotected; KEYSRC sealed-mrenclave "
                "(default), sealed-mrsigner or cas; signed"),
    Option("--scone-heap=", JOINED, SCONE, env="SCONE_HEAP", meta="SIZE",
           help="enclave heap, K/M/G suffixes, whole pages (default 64M); signed"),
    Option("--scone-key=", JOINED, SCONE, env="SCONE_KEY", meta="FILE",
           help="RSA-3072 e=3 signing key, PEM (default: the developer key, "
                "created on first use under ~/.config/scone)"),
    Option("--scone-native", FLAG, SCONE, env="SCONE_NATIVE",
           help="link a plain static musl program, no enclave (SCONE_NATIVE=1)"),
    Option("--scone-net=", JOINED, SCONE, meta="ENDPOINT",
           help="a network shield endpoint (repeatable): server:[ADDR:]PORT:tls:cert=PATH,"
                "key=PATH[,ca=PATH], client:HOST:PORT:tls:ca=PATH[,name=NAME], "
                "...:clear|refuse, default:clear|refuse; signed; implies --scone-crypto"),
    Option("--scone-print=", JOINED, SCONE, meta="WHAT",
           help="print a path and exit: prefix (where libraries built with scone-gcc "
                "are installed; SCONE_PREFIX), cmake-toolchain, meson-cross, pkg-config, "
                "gdb-script"),
    Option("--scone-stack=", JOINED, SCONE, env="SCONE_STACK", meta="SIZE",
           help="stack per enclave thread (default 256K); signed"),
    Option("--scone-tcs=", JOINED, SCONE, env="SCONE_TCS", meta="N",
           help="number of enclave threads, TCS (default 8); signed"),
    Option("--scone-version", FLAG, SCONE,
           help="print scone's version and exit (--version is gcc's, as configure expects)"),
    Option("--shared", FLAG, FORBIDDEN, _SHARED_WHY),
    Option("--specs", SEPARATE, PASSTHROUGH),
    Option("--specs=", JOINED, PASSTHROUGH),
    Option("--static", FLAG, DRIVER),
    Option("--sysroot", SEPARATE, PASSTHROUGH),
    Option("--sysroot=", JOINED, PASSTHROUGH),
    Option("--target-help", FLAG, INFO),
    Option("--version", FLAG, INFO),
    Option("-A", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-B", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-D", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-E", FLAG, COMPILE_ONLY),
    Option("-I", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-L", JOINED_OR_SEPARATE, LINK_ONLY),
    Option("-M", FLAG, COMPILE_ONLY),
    Option("-MD", FLAG, PASSTHROUGH),
    Option("-MF", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-MM", FLAG, COMPILE_ONLY),
    Option("-MMD", FLAG, PASSTHROUGH),
    Option("-MQ", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-MT", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-S", FLAG, COMPILE_ONLY),
    Option("-T", JOINED_OR_SEPARATE, LINK_ONLY),
    Option("-Tbss", SEPARATE, LINK_ONLY),
    Option("-Tdata", SEPARATE, LINK_ONLY),
    Option("-Ttext", SEPARATE, LINK_ONLY),
    Option("-U", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-Wl,", JOINED, LINK_ONLY),
    Option("-Xassembler", SEPARATE, PASSTHROUGH),
    Option("-Xlinker", SEPARATE, LINK_ONLY),
    Option("-Xpreprocessor", SEPARATE, PASSTHROUGH),
    Option("-aux-info", SEPARATE, PASSTHROUGH),
    Option("-c", FLAG, COMPILE_ONLY),
    Option("-dumpbase", SEPARATE, PASSTHROUGH),
    Option("-dumpbase-ext", SEPARATE, PASSTHROUGH),
    Option("-dumpdir", SEPARATE, PASSTHROUGH),
    Option("-dumpfullversion", FLAG, INFO),
    Option("-dumpmachine", FLAG, INFO),
    Option("-dumpspecs", FLAG, INFO),
    Option("-dumpversion", FLAG, INFO),
    Option("-e", JOINED_OR_SEPARATE, LINK_ONLY),
    Option("-fsyntax-only", FLAG, COMPILE_ONLY),
    Option("-fuse-ld=", JOINED, LINK_ONLY),
    Option("-idirafter", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-imacros", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-imultiarch", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-imultilib", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-include", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-iprefix", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-iquote", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-isysroot", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-isystem", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-iwithprefix", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-iwithprefixbefore", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-l", JOINED_OR_SEPARATE, LINK_ONLY),
    Option("-m16", FLAG, FORBIDDEN, _BITS_WHY),
    Option("-m32", FLAG, FORBIDDEN, _BITS_WHY),
    Option("-mx32", FLAG, FORBIDDEN, _BITS_WHY),
    Option("-no-pie", FLAG, DRIVER),
    Option("-nodefaultlibs", FLAG, DRIVER),
    Option("-nolibc", FLAG, DRIVER),
    Option("-nostartfiles", FLAG, DRIVER),
    Option("-nostdlib", FLAG, DRIVER),
    Option("-o", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-pie", FLAG, DRIVER),
    Option("-print-file-name=", JOINED, INFO),
    Option("-print-libgcc-file-name", FLAG, INFO),
    Option("-print-multi-directory", FLAG, INFO),
    Option("-print-multi-lib", FLAG, INFO),
    Option("-print-multi-os-directory", FLAG, INFO),
    Option("-print-multiarch", FLAG, INFO),
    Option("-print-prog-name=", JOINED, INFO),
    Option("-print-search-dirs", FLAG, INFO),
    Option("-print-sysroot", FLAG, INFO),
    Option("-print-sysroot-headers-suffix", FLAG, INFO),
    # musl's libc.a holds pthreads; -lpthread finds its empty archive.
    Option("-pthread", FLAG, PASSTHROUGH),
    # A relocatable (ld -r) output: no start files, no libc.
    Option("-r", FLAG, DRIVER),
    # Harmless: exports symbols that nothing will ever dlopen against.
    Option("-rdynamic", FLAG, LINK_ONLY),
    Option("-s", FLAG, LINK_ONLY),
    Option("-shared", FLAG, FORBIDDEN, _SHARED_WHY),
    Option("-shared-libgcc", FLAG, DRIVER),
    Option("-specs", SEPARATE, PASSTHROUGH),
    Option("-specs=", JOINED, PASSTHROUGH),
    Option("-static", FLAG, DRIVER),
    Option("-static-libgcc", FLAG, DRIVER),
    Option("-static-libstdc++", FLAG, DRIVER),
    Option("-static-pie", FLAG, DRIVER),
    Option("-u", JOINED_OR_SEPARATE, LINK_ONLY),
    Option("-undef", FLAG, PASSTHROUGH),
    Option("-v", FLAG, PASSTHROUGH),
    Option("-wrapper", SEPARATE, PASSTHROUGH),
    Option("-x", JOINED_OR_SEPARATE, PASSTHROUGH),
    Option("-z", JOINED_OR_SEPARATE, LINK_ONLY),
)

_EXACT = {o.name: o for o in TABLE}
# Options that may carry their value in the same word, longest name first so
# that "-MF" wins over "-M..." and "-iwithprefixbefore" over "-iwithprefix".
_PREFIX = sorted((o for o in TABLE if o.syntax in (JOINED, JOINED_OR_SEPARATE)),
                 key=lambda o: -len(o.name))

_OUTPUT = ("-o", "--output", "--output=")

LINK, COMPILE, INFO_ACTION, PARTIAL = "link", "compile", "info", "partial-link"

# A namedtuple, not a dataclass: importing dataclasses pulls in inspect and
# costs more than a small compile on a busy machine; this runs per compile.
Invocation = namedtuple("Invocation", (
    "action",        # "link", "compile" (any call that does not link), "info", "partial-link"
    "args",          # every word but --scone-*, in order: what gcc gets on the compile path
    "link_args",     # args minus "driver" options and -o: what goes between start files and libs
    "inputs",        # input files in order ("-" is stdin)
    "output",        # the -o value, or None
    "compile_only",  # the options that stop gcc before linking
    "info",          # driver-info words, in order
    "driver",        # names of the "driver" options given
    "scone",         # (name, value) of --scone-* options, in order ("" for flags)
))


def lookup(word: str):
    """The table entry for ``word`` and the value joined to it ("" if none), or (None, None)."""
    opt = _EXACT.get(word)
    if opt is not None:
        return opt, ""
    for opt in _PREFIX:
        if word.startswith(opt.name):
            return opt, word[len(opt.name):]
    return None, None


def classify(argv) -> Invocation:
    """Classify gcc arguments (without argv[0], response files already expanded).

    DESIGN.md §3: compile-only calls forward to gcc, links are the driver's.
    Raises SconeError for a forbidden option, an unknown ``--scone-*``
    option or an option missing its value.
    """
    args, link_args, inputs, compile_only, info, driver, scone = [], [], [], [], [], [], []
    output = None
    has_libs = verbose = False
    i, n = 0, len(argv)
    while i < n:
        word = argv[i]
        i += 1
        if word == "-" or not word.startswith("-"):
            inputs.append(word)
            args.append(word)
            link_args.append(word)
            continue
        opt, value = lookup(word)
        words = [word]
        if opt is None:
            if word.startswith("--scone"):
                known = ", ".join(o.name.rstrip("=") for o in TABLE if o.role == SCONE)
                raise SconeError(f"{word}: unknown scone-gcc option; the driver's own are {known}")
            args.append(word)
            link_args.append(word)
            continue
        if opt.syntax == SEPARATE or (opt.syntax == JOINED_OR_SEPARATE and value == ""):
            if i >= n:
                raise SconeError(f"{word}: missing argument; write {word} VALUE")
            value = argv[i]
            words.append(value)
            i += 1
        if opt.role == FORBIDDEN:
            raise SconeError(f"{word}: not supported: {opt.why}")
        if opt.role == SCONE:
            if opt.syntax == JOINED and value == "":
                raise SconeError(f"{word}: missing value; write {word}VALUE")
            scone.append((opt.name.rstrip("="), value or ""))
            continue
        args.extend(words)
        if opt.name in _OUTPUT:
            output = value
            continue
        if opt.role == DRIVER:
            driver.append(opt.name)
            continue
        link_args.extend(words)
        if opt.role == COMPILE_ONLY:
            compile_only.append(word)
        elif opt.role == INFO:
            if opt.alias:
                word = opt.alias + value if opt.alias.endswith("=") else opt.alias
            info.append(word)
        elif opt.name == "-l":
            has_libs = True
        elif opt.name == "-v":
            verbose = True

    if info or (verbose and not inputs and not has_libs):
        action = INFO_ACTION
    elif compile_only or not (inputs or has_libs):
        action = COMPILE
    elif "-r" in driver:
        action = PARTIAL
    else:
        action = LINK
    return Invocation(action, tuple(args), tuple(link_args), tuple(inputs), output,
                      tuple(compile_only), tuple(info), tuple(driver), tuple(scone))
