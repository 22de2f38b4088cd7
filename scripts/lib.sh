# shellcheck shell=bash
# Shared helpers for scripts/opensearch.sh and scripts/moto.sh. Source it; don't run it.
#
# Every service these scripts start runs in its own session/process group (setsid), with
# its pid file, log and throw-away data under target/services/ at the repository root.

# Repository root, wherever the caller's cwd is.
LAKESHIP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# shellcheck disable=SC2034  # used by the scripts that source this file
LAKESHIP_SERVICES="$LAKESHIP_ROOT/target/services"

log() { printf '%s: %s\n' "${LAKESHIP_SCRIPT:-lakeship}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# now_s: seconds since the epoch (integer).
now_s() { date +%s; }

# require_cmd CMD...: fail clearly when a needed tool is missing.
require_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || die "'$c' is required but not on PATH"
    done
}

# valid_port N: N is a TCP port number.
valid_port() {
    [[ "$1" =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= 65535 ))
}

# port_listener PORT: print the listening socket(s) on PORT (any address); status 0 if one exists.
port_listener() {
    local port=$1 out
    if command -v ss >/dev/null 2>&1; then
        out=$(ss -Hltnp "sport = :$port" 2>/dev/null || true)
        [[ -n "$out" ]] || return 1
        printf '%s\n' "$out"
        return 0
    fi
    # No ss: try to connect on loopback.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        printf 'something accepts connections on 127.0.0.1:%s\n' "$port"
        return 0
    fi
    return 1
}

# read_pid FILE: print the pid stored in FILE if it is a number.
read_pid() {
    local file=$1 pid
    [[ -f "$file" ]] || return 1
    pid=$(tr -dc '0-9' <"$file")
    [[ -n "$pid" ]] || return 1
    printf '%s\n' "$pid"
}

# pid_matches PID MARKER: PID is alive and its command line contains MARKER (guards
# against a recycled pid belonging to some other process).
pid_matches() {
    local pid=$1 marker=$2 cmdline
    kill -0 "$pid" 2>/dev/null || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ "$cmdline" == *"$marker"* ]]
}

# group_alive PGID: some process of process group PGID still runs. Zombies don't count:
# a killed service that its new parent has not reaped yet is gone for our purposes.
group_alive() {
    local pgid=$1
    kill -0 -- "-$pgid" 2>/dev/null || return 1
    ps -e -o pgid=,stat= 2>/dev/null | awk -v g="$pgid" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

# stop_group PGID WHAT [TIMEOUT_S]: SIGTERM the process group, wait, then SIGKILL it.
stop_group() {
    local pgid=$1 what=$2 timeout=${3:-30} deadline
    group_alive "$pgid" || return 0
    kill -TERM -- "-$pgid" 2>/dev/null || true
    deadline=$(( $(now_s) + timeout ))
    while group_alive "$pgid"; do
        if (( $(now_s) >= deadline )); then
            log "$what (pgid $pgid) did not stop within ${timeout}s; sending SIGKILL"
            kill -KILL -- "-$pgid" 2>/dev/null || true
            deadline=$(( $(now_s) + 5 ))
            while group_alive "$pgid" && (( $(now_s) < deadline )); do
                sleep 0.2
            done
            break
        fi
        sleep 0.2
    done
    ! group_alive "$pgid" || die "$what (pgid $pgid) is still alive after SIGKILL"
    # Give init a moment to reap the exited processes so they vanish from ps/pgrep too.
    deadline=$(( $(now_s) + 3 ))
    while kill -0 -- "-$pgid" 2>/dev/null && (( $(now_s) < deadline )); do
        sleep 0.2
    done
    return 0
}

# start_detached LOGFILE CMD...: run CMD in a new session (own process group, no tty,
# stdin from /dev/null, stdout+stderr to LOGFILE). Prints its pid, which is also its pgid.
start_detached() {
    local logfile=$1
    shift
    # setsid only forks when the caller is a process-group leader; a background job of a
    # non-interactive shell is not, so $! is the service itself and the session/group id.
    setsid "$@" </dev/null >>"$logfile" 2>&1 &
    printf '%s\n' "$!"
}

# show_log_tail FILE [LINES]: print the last lines of a log to stderr, framed.
show_log_tail() {
    local file=$1 lines=${2:-60}
    [[ -f "$file" ]] || { log "(no log at $file)"; return 0; }
    {
        printf -- '----- last %s lines of %s -----\n' "$lines" "$file"
        tail -n "$lines" "$file"
        printf -- '----- end of log -----\n'
    } >&2
}
