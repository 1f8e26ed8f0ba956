"""A process's figures from /proc, for the leak watchers (soak.py, http_worker_endurance.py):
open fds, threads, RSS, live and zombie descendants, and TCP connection states on a port."""
import os


def _status(pid: int) -> dict:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def process_figures(pid: int) -> dict:
    """fds, threads and RSS (MiB) of one process."""
    status = _status(pid)
    return {
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(status.get("Threads", "0")),
        "rss_mb": int(status.get("VmRSS", "0 kB").split()[0]) / 1024,
    }


def _descendants(root: int) -> list:
    """(pid, state) of every descendant of `root` (stdio workers and their shells)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = (int(rest[1]), rest[0])
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, state) in parents.items():
            if ppid == parent:
                found.append((pid, state))
                frontier.append(pid)
    return found


def figures(pid: int) -> dict:
    """process_figures plus live descendants (`children`) and `zombies` among them."""
    out = process_figures(pid)
    descendants = _descendants(pid)
    out["children"] = sum(1 for _, state in descendants if state != "Z")
    out["zombies"] = sum(1 for _, state in descendants if state == "Z")
    return out


def _tcp_rows():
    """(local port, remote port, state, inode) of every IPv4/IPv6 TCP socket."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    yield int(cols[1].rsplit(":", 1)[1], 16), int(cols[2].rsplit(":", 1)[1], 16), cols[3], cols[9]
        except OSError:
            continue


def pid_listening_on(port: int):
    """The pid holding the listening socket on `port` (an HTTP worker), or None."""
    inodes = {inode for local, _, state, inode in _tcp_rows() if state == "0A" and local == port}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                target = os.readlink(f"/proc/{entry}/fd/{fd}")
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(entry)
        except OSError:
            continue
    return None


def tcp_states(port: int) -> dict:
    """Connection states on a server's port: its side (established, close_wait, time_wait) and
    the clients' side (client_time_wait: sockets the clients closed first, one per connection
    not reused)."""
    names = {"01": "established", "06": "time_wait", "08": "close_wait"}
    counts = {name: 0 for name in names.values()}
    counts["client_time_wait"] = 0
    for local, remote, state, _ in _tcp_rows():
        if local == port and state in names:
            counts[names[state]] += 1
        elif remote == port and state == "06":
            counts["client_time_wait"] += 1
    return counts
