"""A small content-addressed object cache, used as CMAKE_CXX_COMPILER_LAUNCHER.

Why: ``pip install .`` builds in a fresh isolated environment every time, and
scikit-build-core then deletes ``CMakeCache.txt`` and ``CMakeFiles/`` of the build
directory, where CMake keeps every object file. Without this cache a second
``pip install ".[extra]"`` recompiles the whole core (minutes on two cores).

How: ``compile_cache.py <cache-dir> <compiler> <args...>`` runs the compiler's
preprocessor (``-E -P``: no line markers, so the path of the isolated
environment's pybind11 headers does not enter the key) with the real arguments,
which also writes the dependency file the build tool asked for (``-MD -MF``). The
key hashes the compiler (path, size, mtime), the arguments that are not paths of
outputs or include directories, and the preprocessed text (where ``__FILE__`` in a
header of the isolated environment is made stable by ``-fmacro-prefix-map``, which
CMakeLists.txt sets for pybind11). On a hit the cached
object (and the compiler's warnings) are replayed; on a miss the real command runs
and its object is stored. Anything unusual (no ``-c``/``-o``, several sources,
debug info, a failure in the cache itself) runs the plain compiler.

``compile_cache.py --link <cache-dir> <linker> <args...>`` does the same for a link
(CMAKE_CXX_LINKER_LAUNCHER), keyed on the content of its input files.

``compile_cache.py --prune <cache-dir> <max-MiB>`` removes the least recently
used entries until the cache is under the limit (CMake runs it at configure).

Standard library only; no state outside ``<cache-dir>``.
"""

import hashlib
import os
import re
import subprocess
import sys
import tempfile

VERSION = b"ranvier-compile-cache-1"
# Flags whose next argument is a path that does not change the object.
_PATH_NEXT = {"-o", "-MF", "-MT", "-MQ", "-I", "-isystem", "-iquote", "-idirafter"}
# The same, joined to their value ("-I/usr/include").
_PATH_JOINED = ("-I", "-isystem", "-iquote", "-idirafter", "-MF", "-MT", "-MQ")
_UMASK = os.umask(0)
os.umask(_UMASK)
# Flags with effects or outputs outside the object and the preprocessed text (profiles read
# or written, coverage notes, dumps, plugins, spec files): such compiles are never cached.
_UNCACHED_PREFIXES = ("-fprofile", "-fauto-profile", "--coverage", "-ftest-coverage",
                      "-save-temps", "-fdump", "-fplugin", "-specs", "-fcallgraph-info",
                      "-fstack-usage", "-fopt-info")
_UNCACHED = {"-M", "-MM", "-S", "-fsyntax-only"}
_SOURCE_SUFFIXES = (".c", ".cc", ".cpp", ".cxx", ".c++", ".C")


def _run_plain(cmd):
    return subprocess.call(cmd)


def _parse(args):
    """Returns (source, output, key_args) or None when this is not a plain compile."""
    if "-c" not in args or "-E" in args or "-" in args:
        return None
    source = output = None
    key_args = []
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-g") and a not in ("-g0",):
            return None  # debug info records paths: never reuse it across directories
        if a in _UNCACHED or a.startswith(_UNCACHED_PREFIXES):
            return None
        if a in _PATH_NEXT:
            if i + 1 >= len(args):
                return None
            if a == "-o":
                output = args[i + 1]
            i += 2
            continue
        if a.startswith(_PATH_JOINED):
            i += 1
            continue
        if a.startswith("-fmacro-prefix-map="):
            i += 1  # its effect (__FILE__) is in the preprocessed text
            continue
        if a.startswith("@"):
            return None  # response files: their content is not seen here
        if not a.startswith("-") and a.endswith(_SOURCE_SUFFIXES):
            if source is not None:
                return None
            source = a
            key_args.append(os.path.basename(a))
            i += 1
            continue
        key_args.append(a)
        i += 1
    if source is None or output is None:
        return None
    return source, output, key_args


def _compiler_id(compiler):
    path = compiler
    if os.sep not in path:
        for d in os.environ.get("PATH", "").split(os.pathsep):
            cand = os.path.join(d, compiler)
            if os.path.isfile(cand) and os.access(cand, os.X_OK):
                path = cand
                break
    path = os.path.realpath(path)
    st = os.stat(path)
    return f"{path}\0{st.st_size}\0{st.st_mtime_ns}".encode()


def _atomic_write(path, data):
    d = os.path.dirname(path) or "."  # a link writes its output in the working directory
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; objects are ordinary files
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def compile_cached(cache_dir, cmd):
    parsed = _parse(cmd[1:])
    if parsed is None:
        return _run_plain(cmd)
    source, output, key_args = parsed
    try:
        h = hashlib.sha256(VERSION)
        h.update(_compiler_id(cmd[0]))
        for a in key_args:
            h.update(a.encode() + b"\0")
        # The preprocessor with the real arguments (-c -> -E -P, -o obj -> -o obj.i):
        # it also writes the dependency file of -MD/-MF with the right target.
        pre_out = output + ".cache.i"
        pre = []
        i = 0
        while i < len(cmd):
            a = cmd[i]
            if a == "-c":
                pre += ["-E", "-P"]
            elif a == "-o":
                pre += ["-o", pre_out]
                i += 1
            else:
                pre.append(a)
            i += 1
        r = subprocess.run(pre, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            try:
                os.unlink(pre_out)
            except OSError:
                pass
            return _run_plain(cmd)  # let the compiler report the error itself
        with open(pre_out, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        os.unlink(pre_out)
        key = h.hexdigest()
    except Exception:
        return _run_plain(cmd)

    entry = os.path.join(cache_dir, key[:2], key)
    try:
        with open(entry + ".o", "rb") as f:
            obj = f.read()
        try:
            with open(entry + ".stderr", "rb") as f:
                err = f.read()
        except FileNotFoundError:
            err = b""
        _atomic_write(output, obj)
        os.utime(entry + ".o")  # for the least-recently-used pruning
        if err:
            sys.stderr.buffer.write(err)
            sys.stderr.flush()
        return 0
    except (OSError, ValueError):
        pass

    r = subprocess.run(cmd, stderr=subprocess.PIPE)
    if r.stderr:
        sys.stderr.buffer.write(r.stderr)
        sys.stderr.flush()
    if r.returncode == 0:
        try:
            with open(output, "rb") as f:
                obj = f.read()
            if r.stderr:
                _atomic_write(entry + ".stderr", r.stderr)
            _atomic_write(entry + ".o", obj)
        except OSError:
            pass  # a read-only or full cache never fails the build
    return r.returncode


def _file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest().encode()


def link_cached(cache_dir, cmd):
    """The same for a link (CMAKE_CXX_LINKER_LAUNCHER): the key hashes the linker and every
    argument, with each input file given by path (objects, archives, libraries) replaced by
    its content's hash (also files named inside a flag, like a version script). Libraries
    found by name (``-lfoo``) and the compiler's own runtime are keyed by name and by the
    compiler's identity. With LTO most of the code generation of the bindings happens here."""
    args = cmd[1:]
    if "-o" not in args or any(a.startswith("@") for a in args):
        return _run_plain(cmd)
    if any((a.startswith("-g") and a != "-g0") or a.startswith(_UNCACHED_PREFIXES)
           for a in args):
        return _run_plain(cmd)
    output = args[args.index("-o") + 1]
    try:
        h = hashlib.sha256(VERSION + b"\0link")
        h.update(_compiler_id(cmd[0]))
        skip_next = False
        for a in args:
            if skip_next:
                skip_next = False
                continue
            if a == "-o":
                skip_next = True
                continue
            if not a.startswith("-") and os.path.isfile(a):
                h.update(b"file:" + _file_digest(a) + b"\0")
                continue
            h.update(a.encode() + b"\0")
            # files named inside a flag (-Wl,--version-script=x.map, -T script): their content
            for piece in re.split(r"[,=]", a)[1:]:
                if piece and os.path.isfile(piece):
                    h.update(b"file:" + _file_digest(piece) + b"\0")
        key = h.hexdigest()
    except Exception:
        return _run_plain(cmd)
    entry = os.path.join(cache_dir, key[:2], key)
    try:
        with open(entry + ".o", "rb") as f:
            data = f.read()
        _atomic_write(output, data)
        os.chmod(output, 0o777 & ~_UMASK)
        os.utime(entry + ".o")
        return 0
    except OSError:
        pass
    rc = _run_plain(cmd)
    if rc == 0:
        try:
            with open(output, "rb") as f:
                _atomic_write(entry + ".o", f.read())
        except OSError:
            pass
    return rc


def prune(cache_dir, max_mib):
    entries = []
    total = 0
    for root, _dirs, files in os.walk(cache_dir):
        for name in files:
            p = os.path.join(root, name)
            try:
                st = os.stat(p)
            except OSError:
                continue
            if name.startswith(".tmp-"):
                entries.append((0, st.st_size, p))  # left by a killed build: first to go
            elif name.endswith(".o"):
                entries.append((st.st_mtime_ns, st.st_size, p))
            total += st.st_size
    entries.sort()
    limit = max_mib * 1024 * 1024
    for _mtime, size, p in entries:
        if total <= limit:
            break
        for q in (p, p[:-2] + ".stderr") if p.endswith(".o") else (p,):
            try:
                total -= os.stat(q).st_size
                os.unlink(q)
            except OSError:
                pass


def main(argv):
    if len(argv) >= 1 and argv[0] == "--prune":
        prune(argv[1], float(argv[2]))
        return 0
    if len(argv) >= 3 and argv[0] == "--link":
        return link_cached(argv[1], argv[2:])
    if len(argv) < 2:
        sys.stderr.write("usage: compile_cache.py <cache-dir> <compiler> <args...>\n")
        return 2
    return compile_cached(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
