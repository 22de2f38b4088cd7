#!/usr/bin/env bash
# Start/stop a real, throw-away, single-node OpenSearch (2.19 by default, 3.x with
# OPENSEARCH_VERSION) on loopback for Lakeship's tests. The node is assembled from Maven
# Central jars by tests/opensearch-node (no Docker, no tarball).
set -euo pipefail

LAKESHIP_SCRIPT=opensearch.sh
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<EOF
usage: scripts/opensearch.sh start|stop|wait|status|install [--port N] [--name NAME] [-E key=value ...]

  start    build the launcher if needed, start a fresh node, wait for green/yellow health
  stop     stop the node (SIGTERM, SIGKILL after \$OPENSEARCH_STOP_TIMEOUT s) and delete its data;
           succeeds when nothing is running
  wait     wait until a started node reports green/yellow health
  status   print whether the node is running (exit 0) or not (exit 3)
  install  only build the node launcher (tests/opensearch-node) with Maven if needed

options:
  --port N       HTTP port (default 9200); the transport port is N+100
  --name NAME    instance name (default main); several named instances can run at once
  -E key=value   extra OpenSearch setting for start, e.g. -E thread_pool.write.queue_size=2
  --keep-data    stop: keep the data directory; start: reuse it (a restart that keeps the
                 indices, used by tests that stop a node in the middle of a run)

files:  target/services/opensearch-NAME/{opensearch.pid,opensearch.log,home/,data/}
        (deleted by start and stop; stop keeps the log as target/services/opensearch-NAME.last.log)
        tests/opensearch-node/target/opensearch-VERSION/ (the launcher, built once per version)

environment:
  OPENSEARCH_VERSION         OpenSearch version to build and start (default 2.19.6); a 3.x
                             version (tested: 3.3.2, 3.8.0, 3.9.0) needs Java 21+
  OPENSEARCH_HEAP            heap size for -Xms/-Xmx (default 512m)
  OPENSEARCH_JAVA            java executable (default: java on PATH for 2.x, which must be
                             Java 17+; for 3.x the first Java 21+ of: java on PATH,
                             \$JAVA_HOME, /usr/lib/jvm/*)
  OPENSEARCH_JAVA_OPTS       extra JVM flags
  OPENSEARCH_START_TIMEOUT   seconds to wait for health (default 120)
  OPENSEARCH_STOP_TIMEOUT    seconds between SIGTERM and SIGKILL (default 30)
EOF
}

NODE_DIR="$LAKESHIP_ROOT/tests/opensearch-node"
MAIN_CLASS=org.lakeship.testnode.Main
VERSION=${OPENSEARCH_VERSION:-2.19.6}
[[ "$VERSION" =~ ^[23]\.[0-9]+\.[0-9]+$ ]] || die "OPENSEARCH_VERSION must be a 2.x or 3.x version like 2.19.6 or 3.9.0, not '$VERSION'"
# One launcher build per version (see tests/opensearch-node/pom.xml); 3.x is the Maven profile opensearch3.
NODE_BUILD="$NODE_DIR/target/opensearch-$VERSION"
NODE_JAR="$NODE_BUILD/lakeship-opensearch-node.jar"
MAVEN_ARGS=("-Dopensearch.version=$VERSION")
MIN_JAVA=17
if [[ "$VERSION" == 3.* ]]; then
    MAVEN_ARGS+=(-Popensearch3)
    MIN_JAVA=21
fi

# ---- arguments -----------------------------------------------------------------------
[[ $# -ge 1 ]] || { usage >&2; exit 2; }
COMMAND=$1
shift
case "$COMMAND" in
    start|stop|wait|status|install) ;;
    -h|--help|help) usage; exit 0 ;;
    *) usage >&2; die "unknown command '$COMMAND'" ;;
esac

PORT=9200
NAME=main
SETTINGS=()
KEEP_DATA=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --port) [[ $# -ge 2 ]] || die "--port needs a value"; PORT=$2; shift 2 ;;
        --port=*) PORT=${1#--port=}; shift ;;
        --name) [[ $# -ge 2 ]] || die "--name needs a value"; NAME=$2; shift 2 ;;
        --name=*) NAME=${1#--name=}; shift ;;
        -E) [[ $# -ge 2 ]] || die "-E needs key=value"; SETTINGS+=("$2"); shift 2 ;;
        -E?*) SETTINGS+=("${1#-E}"); shift ;;
        --keep-data) KEEP_DATA=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument '$1'" ;;
    esac
done
valid_port "$PORT" || die "invalid --port '$PORT'"
[[ "$NAME" =~ ^[A-Za-z0-9_.-]+$ ]] || die "invalid --name '$NAME' (use letters, digits, . _ -)"
for kv in "${SETTINGS[@]+"${SETTINGS[@]}"}"; do
    [[ "$kv" == ?*=* ]] || die "setting must be key=value: '$kv'"
done

TRANSPORT_PORT=$((PORT + 100))
valid_port "$TRANSPORT_PORT" || die "--port $PORT leaves no room for transport port $TRANSPORT_PORT"

SERVICE_DIR="$LAKESHIP_SERVICES/opensearch-$NAME"
PID_FILE="$SERVICE_DIR/opensearch.pid"
PORT_FILE="$SERVICE_DIR/opensearch.port"
LOG_FILE="$SERVICE_DIR/opensearch.log"
LAST_LOG="$LAKESHIP_SERVICES/opensearch-$NAME.last.log"
# Every JVM started here has this on its command line; used to recognise our own pid.
PID_MARKER="$MAIN_CLASS"
JAVA_BIN=${OPENSEARCH_JAVA:-}
HEAP=${OPENSEARCH_HEAP:-512m}
START_TIMEOUT=${OPENSEARCH_START_TIMEOUT:-120}
STOP_TIMEOUT=${OPENSEARCH_STOP_TIMEOUT:-30}

# ---- helpers -------------------------------------------------------------------------

# running_pid: pid of this instance's node, if it is running.
running_pid() {
    local pid
    pid=$(read_pid "$PID_FILE") || return 1
    pid_matches "$pid" "$PID_MARKER" || return 1
    printf '%s\n' "$pid"
}

# health: the cluster status (green/yellow/red) or nothing.
health() {
    curl -s --max-time 3 "http://127.0.0.1:$1/_cluster/health" 2>/dev/null \
        | sed -n 's/.*"status"[[:space:]]*:[[:space:]]*"\([a-z]*\)".*/\1/p'
}

# banner PORT: "opensearch 2.19.6 on http://127.0.0.1:PORT" from GET /.
banner() {
    local body dist number
    body=$(curl -s --max-time 5 "http://127.0.0.1:$1/" | tr -d '\n')
    dist=$(printf '%s' "$body" | sed -n 's/.*"distribution"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
    number=$(printf '%s' "$body" | sed -n 's/.*"number"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
    printf '%s %s on http://127.0.0.1:%s\n' "${dist:-?}" "${number:-?}" "$1"
}

# java_major JAVA: the feature version of a java executable (17, 21, 25), or nothing.
java_major() {
    "$1" -version 2>&1 | sed -n 's/.* version "\([0-9][0-9]*\).*/\1/p' | head -n 1
}

# choose_java: set JAVA_BIN to a java of at least MIN_JAVA, or fail naming what to install.
# OPENSEARCH_JAVA wins when set; otherwise java on PATH, $JAVA_HOME, then the newest JDK under
# /usr/lib/jvm (where Debian and Temurin packages put them).
choose_java() {
    local candidate major best="" best_major=0
    if [[ -n "$JAVA_BIN" ]]; then
        require_cmd "$JAVA_BIN"
        major=$(java_major "$JAVA_BIN")
        (( ${major:-0} >= MIN_JAVA )) \
            || die "OPENSEARCH_JAVA=$JAVA_BIN is Java ${major:-?}; OpenSearch $VERSION needs Java $MIN_JAVA or newer"
        return 0
    fi
    for candidate in "$(command -v java || true)" "${JAVA_HOME:+$JAVA_HOME/bin/java}" /usr/lib/jvm/*/bin/java; do
        [[ -n "$candidate" && -x "$candidate" ]] || continue
        major=$(java_major "$candidate")
        if (( ${major:-0} >= MIN_JAVA )); then
            JAVA_BIN=$candidate
            return 0
        fi
        if (( ${major:-0} > best_major )); then
            best=$candidate best_major=$major
        fi
    done
    local found="none"
    [[ -z "$best" ]] || found="Java $best_major ($best)"
    die "OpenSearch $VERSION needs Java $MIN_JAVA or newer, and the newest java found is $found: install a Java $MIN_JAVA+ JDK (e.g. Debian's openjdk-21-jdk-headless, or Temurin 21/25 under /usr/lib/jvm) or set OPENSEARCH_JAVA"
}

# needs_build: the launcher jar or its lib/ is missing, or older than the pom/sources.
needs_build() {
    [[ -f "$NODE_JAR" && -d "$NODE_BUILD/lib" ]] || return 0
    [[ -n "$(find "$NODE_DIR/pom.xml" "$NODE_DIR/src" -newer "$NODE_JAR" -print -quit)" ]]
}

ensure_built() {
    choose_java
    needs_build || return 0
    require_cmd mvn
    mkdir -p "$LAKESHIP_SERVICES"
    # Serialise concurrent builds (two instances started at once).
    exec 9>"$LAKESHIP_SERVICES/.opensearch-node-build-$VERSION.lock"
    flock 9
    if needs_build; then
        log "building tests/opensearch-node for OpenSearch $VERSION with Maven (a cold ~/.m2 downloads ~90 MB)"
        local started java_home
        started=$(now_s)
        # Maven compiles with the JDK that will run the node (3.x: Java 21+).
        java_home=$(dirname "$(dirname "$(readlink -f "$(command -v "$JAVA_BIN")")")")
        # (Debian's Maven 3.8 prints stray ANSI resets even in batch mode; strip them. Maven's
        # own guava warns about sun.misc.Unsafe on Java 24+: drop the JVM's "WARNING: " lines too.)
        JAVA_HOME=$java_home mvn -q -B -Dstyle.color=never "${MAVEN_ARGS[@]}" -f "$NODE_DIR/pom.xml" package 2>&1 \
            | sed -e $'s/\e\\[0m//g' -e '/^WARNING: /d' >&2 \
            || die "Maven build of tests/opensearch-node for OpenSearch $VERSION failed"
        [[ -f "$NODE_JAR" ]] || die "Maven build of tests/opensearch-node for OpenSearch $VERSION made no $NODE_JAR"
        touch "$NODE_JAR"
        log "built launcher for OpenSearch $VERSION in $(( $(now_s) - started ))s"
    fi
    flock -u 9
    exec 9>&-
}

# wait_healthy PORT TIMEOUT [PID]: until health is green/yellow; fails early if PID dies.
wait_healthy() {
    local port=$1 timeout=$2 pid=${3:-} deadline status
    deadline=$(( $(now_s) + timeout ))
    while :; do
        status=$(health "$port")
        [[ "$status" == green || "$status" == yellow ]] && return 0
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            log "node process $pid exited during start-up"
            return 1
        fi
        if (( $(now_s) >= deadline )); then
            log "node on port $port not green/yellow after ${timeout}s (last status: ${status:-no answer})"
            return 1
        fi
        sleep 0.5
    done
}

save_log_and_clean() {
    if [[ -f "$LOG_FILE" ]]; then
        cp -f "$LOG_FILE" "$LAST_LOG" 2>/dev/null || true
    fi
    if (( KEEP_DATA )); then
        rm -f "$PID_FILE" "$PORT_FILE"
    else
        rm -rf "$SERVICE_DIR"
    fi
}

# ---- commands ------------------------------------------------------------------------

cmd_start() {
    local pid started
    started=$(now_s)
    if pid=$(running_pid); then
        local old_port
        old_port=$(cat "$PORT_FILE" 2>/dev/null || echo "?")
        [[ "$old_port" == "$PORT" ]] \
            || die "instance '$NAME' is already running on port $old_port (pid $pid); stop it first"
        log "instance '$NAME' is already running (pid $pid)"
        wait_healthy "$PORT" "$START_TIMEOUT" "$pid" || { show_log_tail "$LOG_FILE"; exit 1; }
        banner "$PORT"
        return 0
    fi

    local p listener
    for p in "$PORT" "$TRANSPORT_PORT"; do
        if listener=$(port_listener "$p"); then
            die "port $p is already in use by another process; pick another --port"$'\n'"$listener"
        fi
    done

    require_cmd curl setsid
    ensure_built

    (( KEEP_DATA )) || rm -rf "$SERVICE_DIR"
    mkdir -p "$SERVICE_DIR/home" "$SERVICE_DIR/data" "$SERVICE_DIR/logs" "$SERVICE_DIR/tmp"
    : >"$LOG_FILE"

    # The JVM flags bin/opensearch would add (minus security manager and agent). Java 23+ has
    # no COMPAT locale data; 3.x's jvm.options asks for SPI,CLDR.
    local locale_providers=SPI,COMPAT
    local -a line_jvm=()
    if (( MIN_JAVA >= 21 )); then
        locale_providers=SPI,CLDR
        line_jvm=(--enable-native-access=ALL-UNNAMED)  # Lucene's native access, as 3.x's jvm.options
    fi
    local -a jvm=(
        "-Xms$HEAP" "-Xmx$HEAP"
        -XX:+UseG1GC
        -XX:+ExitOnOutOfMemoryError
        "-XX:ErrorFile=$SERVICE_DIR/logs/hs_err_pid%p.log"
        -Xss1m
        -Djava.awt.headless=true
        -Dfile.encoding=UTF-8
        -Djna.nosys=true
        -XX:-OmitStackTraceInFastThrow
        -Dio.netty.noUnsafe=true
        -Dio.netty.noKeySetOptimization=true
        -Dio.netty.recycler.maxCapacityPerThread=0
        -Dio.netty.allocator.numDirectArenas=0
        -Dlog4j.shutdownHookEnabled=false
        -Dlog4j2.disable.jmx=true
        "-Djava.locale.providers=$locale_providers"
        "-Djava.io.tmpdir=$SERVICE_DIR/tmp"
    )
    jvm+=("${line_jvm[@]+"${line_jvm[@]}"}")
    if [[ -n "${OPENSEARCH_JAVA_OPTS:-}" ]]; then
        # shellcheck disable=SC2206  # word-splitting of user-supplied flags is intended
        jvm+=($OPENSEARCH_JAVA_OPTS)
    fi
    local -a settings=(
        -E "path.home=$SERVICE_DIR/home"
        -E "path.data=$SERVICE_DIR/data"
        -E "path.logs=$SERVICE_DIR/logs"
        -E "node.name=$NAME"
        -E "http.port=$PORT"
        -E "transport.port=$TRANSPORT_PORT"
    )
    local kv
    for kv in "${SETTINGS[@]+"${SETTINGS[@]}"}"; do
        settings+=(-E "$kv")
    done

    pid=$(start_detached "$LOG_FILE" "$JAVA_BIN" "${jvm[@]}" \
        -cp "$NODE_JAR:$NODE_BUILD/lib/*" "$MAIN_CLASS" "${settings[@]}")
    printf '%s\n' "$pid" >"$PID_FILE"
    printf '%s\n' "$PORT" >"$PORT_FILE"
    log "starting '$NAME' (OpenSearch $VERSION, pid $pid, heap $HEAP, http $PORT, transport $TRANSPORT_PORT, log $LOG_FILE)"

    if ! wait_healthy "$PORT" "$START_TIMEOUT" "$pid"; then
        show_log_tail "$LOG_FILE"
        stop_group "$pid" "opensearch '$NAME'" 10 || true
        save_log_and_clean
        die "OpenSearch '$NAME' failed to start (log kept at $LAST_LOG)"
    fi
    printf '%s (name %s, pid %s, started in %ss)\n' "$(banner "$PORT")" "$NAME" "$pid" "$(( $(now_s) - started ))"
}

cmd_stop() {
    local pid
    if pid=$(running_pid); then
        stop_group "$pid" "opensearch '$NAME'" "$STOP_TIMEOUT"
        log "stopped '$NAME' (pid $pid)"
    else
        log "instance '$NAME' is not running"
    fi
    save_log_and_clean
}

cmd_wait() {
    local pid
    pid=$(running_pid) || die "instance '$NAME' is not running (no live pid in $PID_FILE)"
    local port
    port=$(cat "$PORT_FILE" 2>/dev/null || echo "$PORT")
    wait_healthy "$port" "$START_TIMEOUT" "$pid" || { show_log_tail "$LOG_FILE"; exit 1; }
    banner "$port"
}

cmd_install() {
    ensure_built
    log "launcher for OpenSearch $VERSION ready ($NODE_BUILD, Java: $JAVA_BIN)"
}

cmd_status() {
    local pid
    if pid=$(running_pid); then
        local port
        port=$(cat "$PORT_FILE" 2>/dev/null || echo "$PORT")
        printf 'running: %s (name %s, pid %s, health %s)\n' "$(banner "$port")" "$NAME" "$pid" "$(health "$port")"
        return 0
    fi
    printf 'not running: opensearch %s\n' "$NAME"
    return 3
}

"cmd_$COMMAND"
