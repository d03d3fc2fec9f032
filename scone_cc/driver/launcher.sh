#!/bin/sh
# scone-gcc: a drop-in gcc for enclaves (README "scone-gcc").
#
# Installed as the scone-gcc command; the Python driver is scone-gcc-driver
# beside it. A compile (gcc -c and the like) execs gcc straight from the
# fragment the driver generated into the cache (scone_cc/driver/fast.py says
# what it checks first); every other call, and any call when a check fails,
# runs the driver, which also keeps the fragment up to date.
case $0 in
/*) _sc_self=$0 ;;
*) _sc_self=$PWD/$0 ;;
esac
_sc_cache=${SCONE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/scone}
_sc_rest=$_sc_self _sc_key=
while :; do
    case $_sc_rest in
    */*) _sc_key=$_sc_key${_sc_rest%%/*}_ _sc_rest=${_sc_rest#*/} ;;
    *) _sc_key=$_sc_key$_sc_rest; break ;;
    esac
done
# Only a fragment of our own: it is shell code.
if [ -r "$_sc_cache/driver/launch$_sc_key.sh" ] && [ -O "$_sc_cache/driver/launch$_sc_key.sh" ]; then
    . "$_sc_cache/driver/launch$_sc_key.sh"
fi
_sc_driver=${_sc_self%/*}/scone-gcc-driver
if [ ! -x "$_sc_driver" ]; then
    # Called through a symbolic link from another folder.
    _sc_driver=$(readlink -f -- "$_sc_self") && _sc_driver=${_sc_driver%/*}/scone-gcc-driver
fi
SCONE_GCC_LAUNCHER=$_sc_self
export SCONE_GCC_LAUNCHER
exec "$_sc_driver" "$@"
