#!/usr/bin/env bash
# Start/stop moto's server on loopback: local S3, SQS, STS and Step Functions endpoints for
# Lakeship's tests. moto is installed, pinned, into the project-local .venv/.
set -euo pipefail

LAKESHIP_SCRIPT=moto.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: scripts/moto.sh start|stop|status|install [--port N]

  start    install moto into .venv/ if missing or outdated, start moto_server, wait until it answers
  stop     stop moto_server (SIGTERM, SIGKILL after \$MOTO_STOP_TIMEOUT s); succeeds when nothing runs
  status   print whether it is running (exit 0) or not (exit 3)
  install  only create/update .venv/ from tests/moto-requirements.txt

options:
  --port N   port to listen on, 127.0.0.1 only (default 5000); several ports can run at once

files:  .venv/                                   (virtualenv, kept between runs)
        target/services/moto/moto-PORT.{pid,log}

environment:
  MOTO_PYTHON          python used to create .venv (default python3; 3.9+)
  MOTO_START_TIMEOUT   seconds to wait for the server (default 60)
  MOTO_STOP_TIMEOUT    seconds between SIGTERM and SIGKILL (default 10)

The server's endpoint for every service is http://127.0.0.1:PORT (any access key works).
EOF
}

[[ $# -ge 1 ]] || { usage >&2; exit 2; }
COMMAND=$1
shift
case "$COMMAND" in
    start|stop|status|install) ;;
    -h|--help|help) usage; exit 0 ;;
    *) usage >&2; die "unknown command '$COMMAND'" ;;
esac

PORT=5000
while [[ $# -gt 0 ]]; do
    case "$1" in
        --port) [[ $# -ge 2 ]] || die "--port needs a value"; PORT=$2; shift 2 ;;
        --port=*) PORT=${1#--port=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument '$1'" ;;
    esac
done
valid_port "$PORT" || die "invalid --port '$PORT'"

VENV="$LAKESHIP_ROOT/.venv"
REQUIREMENTS="$LAKESHIP_ROOT/tests/moto-requirements.txt"
STAMP="$VENV/.lakeship-moto-requirements.sha256"
MOTO_BIN="$VENV/bin/moto_server"
SERVICE_DIR="$LAKESHIP_SERVICES/moto"
PID_FILE="$SERVICE_DIR/moto-$PORT.pid"
LOG_FILE="$SERVICE_DIR/moto-$PORT.log"
PYTHON=${MOTO_PYTHON:-python3}
START_TIMEOUT=${MOTO_START_TIMEOUT:-60}
STOP_TIMEOUT=${MOTO_STOP_TIMEOUT:-10}
URL="http://127.0.0.1:$PORT"

# ---- helpers -------------------------------------------------------------------------

requirements_hash() {
    sha256sum "$REQUIREMENTS" | cut -d' ' -f1
}

venv_up_to_date() {
    [[ -x "$MOTO_BIN" && -x "$VENV/bin/python" && -f "$STAMP" ]] || return 1
    [[ "$(cat "$STAMP")" == "$(requirements_hash)" ]] || return 1
    # A venv whose interpreter went away (e.g. a removed pyenv version) is not usable.
    "$VENV/bin/python" -c 'import moto' >/dev/null 2>&1
}

ensure_installed() {
    [[ -f "$REQUIREMENTS" ]] || die "missing $REQUIREMENTS"
    venv_up_to_date && return 0
    mkdir -p "$LAKESHIP_SERVICES"
    # Serialise concurrent installs.
    exec 8>"$LAKESHIP_SERVICES/.moto-venv.lock"
    flock 8
    if ! venv_up_to_date; then
        local started
        started=$(now_s)
        if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'pass' >/dev/null 2>&1; then
            require_cmd "$PYTHON"
            log "creating virtualenv $VENV"
            rm -rf "$VENV"
            "$PYTHON" -m venv "$VENV" \
                || die "'$PYTHON -m venv' failed (on Debian's own python: apt-get install python3-venv)"
        fi
        log "installing tests/moto-requirements.txt into .venv (first run: ~1 min, ~300 MB)"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
            -r "$REQUIREMENTS" >&2 \
            || die "pip install -r tests/moto-requirements.txt failed"
        requirements_hash >"$STAMP"
        log "moto installed in $(( $(now_s) - started ))s"
    fi
    flock -u 8
    exec 8>&-
}

running_pid() {
    local pid
    pid=$(read_pid "$PID_FILE") || return 1
    pid_matches "$pid" "$MOTO_BIN" || return 1
    printf '%s\n' "$pid"
}

answers() {
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/moto-api/" 2>/dev/null)" == 200 ]]
}

moto_version() {
    "$VENV/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null || echo '?'
}

# ---- commands ------------------------------------------------------------------------

cmd_install() {
    ensure_installed
    log "moto $(moto_version) ready in $VENV"
}

cmd_start() {
    local pid started
    started=$(now_s)
    if pid=$(running_pid); then
        answers || die "moto on port $PORT (pid $pid) is running but does not answer; run: scripts/moto.sh stop --port $PORT"
        log "moto on port $PORT is already running (pid $pid)"
        printf 'moto %s on %s (pid %s)\n' "$(moto_version)" "$URL" "$pid"
        return 0
    fi
    local listener
    if listener=$(port_listener "$PORT"); then
        die "port $PORT is already in use by another process; pick another --port"$'\n'"$listener"
    fi

    require_cmd curl setsid
    ensure_installed

    mkdir -p "$SERVICE_DIR"
    : >"$LOG_FILE"
    # PYTHONUNBUFFERED: request log lines reach the log file as they happen.
    pid=$(PYTHONUNBUFFERED=1 start_detached "$LOG_FILE" "$MOTO_BIN" -H 127.0.0.1 -p "$PORT")
    printf '%s\n' "$pid" >"$PID_FILE"
    log "starting moto_server (pid $pid, log $LOG_FILE)"

    local deadline=$(( $(now_s) + START_TIMEOUT ))
    until answers; do
        if ! kill -0 "$pid" 2>/dev/null; then
            show_log_tail "$LOG_FILE"
            rm -f "$PID_FILE"
            die "moto_server exited during start-up"
        fi
        if (( $(now_s) >= deadline )); then
            show_log_tail "$LOG_FILE"
            stop_group "$pid" "moto_server" 5 || true
            rm -f "$PID_FILE"
            die "moto_server did not answer on $URL within ${START_TIMEOUT}s"
        fi
        sleep 0.2
    done
    printf 'moto %s on %s (pid %s, started in %ss)\n' "$(moto_version)" "$URL" "$pid" "$(( $(now_s) - started ))"
}

cmd_stop() {
    local pid
    if pid=$(running_pid); then
        stop_group "$pid" "moto_server" "$STOP_TIMEOUT"
        log "stopped moto on port $PORT (pid $pid)"
    else
        log "moto on port $PORT is not running"
    fi
    rm -f "$PID_FILE"
}

cmd_status() {
    local pid
    if pid=$(running_pid); then
        if answers; then
            printf 'running: moto %s on %s (pid %s)\n' "$(moto_version)" "$URL" "$pid"
        else
            printf 'running but not answering: moto on %s (pid %s)\n' "$URL" "$pid"
        fi
        return 0
    fi
    printf 'not running: moto on %s\n' "$URL"
    return 3
}

"cmd_$COMMAND"
