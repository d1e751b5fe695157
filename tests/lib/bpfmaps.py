"""The tracer's BPF maps as bpftool dumps them, for tests that check what
its programs leave behind."""
import json
import subprocess
import time


def _dump(name):
    """The elements of the tracer's BPF map name. When two tracers run (a
    test's own beside the session's), bpftool prints each map with its
    elements: those of both are returned."""
    out = subprocess.run(["bpftool", "-j", "map", "dump", "name", name],
                         capture_output=True, text=True, timeout=30, check=True)
    items = []
    for e in json.loads(out.stdout):
        items.extend(e["elements"] if "elements" in e else [e])
    return items


def _gone(tgid):
    """The process has exited (a zombie, or reaped)."""
    try:
        with open(f"/proc/{tgid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _dup_entries():
    """(tgid, fd) of the alias and shared entries (dup'd connection fds)
    in the tracer's BPF connection map."""
    keys = set()
    for e in _dump("ebt_conns"):
        k, v = e["formatted"]["key"], e["formatted"]["value"]
        if v["alias"] or k["fd"] & 0x80000000:
            keys.add((k["tgid"], k["fd"]))
    return keys


def conn_entries():
    """(tgid, fd) of every entry in the tracer's BPF connection map."""
    return {(e["formatted"]["key"]["tgid"], e["formatted"]["key"]["fd"])
            for e in _dump("ebt_conns")}


def _listed_tgids():
    """Processes with a list of connection fds in the tracer's BPF map, or
    with flags userspace set for the connections it entered itself."""
    return set(proc_fds_lists()) | set(proc_added_flags())


def _leaked(dump, tgid_of):
    """Entries of dump() whose process has exited, in two dumps taken 0.2 s
    apart with the process gone before the second: an exit deletes its
    own, so none may stay."""
    first = {k for k in dump() if _gone(tgid_of(k))}
    time.sleep(0.2)
    return sorted(first & dump())


def leaked_dup_entries():
    """Dup'd connection entries (userspace does not know them) of exited
    processes."""
    return _leaked(_dup_entries, lambda k: k[0])


def leaked_conn_entries():
    """Connection entries of any kind of exited processes."""
    return _leaked(conn_entries, lambda k: k[0])


def leaked_fd_lists():
    """Lists of connection fds of exited processes."""
    return _leaked(_listed_tgids, lambda k: k)


def proc_fds_lists():
    """The tracer's BPF lists of connection fds: {tgid: (flags, set of
    1 + fd)}."""
    return {e["formatted"]["key"]: (e["formatted"]["value"]["flags"],
                                    set(e["formatted"]["value"]["fd"]) - {0})
            for e in _dump("ebt_proc_fds")}


def proc_added_flags():
    """The flags userspace set for processes whose connections it entered
    itself: {tgid: flags}."""
    return {e["formatted"]["key"]: e["formatted"]["value"]
            for e in _dump("ebt_proc_added")}
