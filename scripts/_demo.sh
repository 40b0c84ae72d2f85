# The demo's pieces, shared by scripts/develop and scripts/screenshot; sourced
# after _common.sh, not run.
# shellcheck shell=bash

DEMO_CONFIG="${DEMO_CONFIG:-$ROOT/config}"
DEMO_HA_PORT="${DEMO_HA_PORT:-8123}"
DEMO_SIM_PORT="${DEMO_SIM_PORT:-8765}"
DEMO_RATE="${DEMO_RATE:-2}"
DEMO_TICK="${DEMO_TICK:-1}"
HA_URL="http://127.0.0.1:$DEMO_HA_PORT"
SIM_URL="http://127.0.0.1:$DEMO_SIM_PORT"
SIM_PID=""
HASS_PID=""

demo_py() { "$VENV/bin/python" "$ROOT/scripts/demo_setup.py" "$@"; }
demo_const() {
  "$VENV/bin/python" -c "import sys; sys.path.insert(0, '$ROOT/scripts'); import demo_site as d; print(d.$1)"
}

# Install requirements_test.txt (venv) and requirements_dev.txt, each only
# when its file changed since the last install.
ensure_demo_requirements() {
  ensure_venv
  local stamp="$VENV/.requirements_dev.sha256" want
  want="$(sha256sum "$ROOT/requirements_dev.txt" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  log "Installing the demo requirements (Home Assistant's frontend; log in $VENV/install-dev.log)"
  if ! "$VENV/bin/python" -m pip install -r "$ROOT/requirements_dev.txt" >"$VENV/install-dev.log" 2>&1; then
    grep -v "is ignored: it is neither a file nor a directory" "$VENV/install-dev.log" | tail -n 40 >&2
    die "installing the demo requirements failed (full log: $VENV/install-dev.log)"
  fi
  echo "$want" >"$stamp"
}

port_in_use() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Start a command in the background in a session (and so a process group) of
# its own, and set STARTED_PID. setsid runs in the background job's process
# (it forks only when that process leads a group, which a background job of a
# script never does), so the process id is also the group id: demo_stop ends
# the command with everything it started. Run from $ROOT, not in a subshell.
STARTED_PID=""

# Keep the previous run's log as FILE.1, as Home Assistant does with its own.
_rotate() { if [ -f "$1" ]; then mv -f "$1" "$1.1"; fi; }

_start_group() {
  local out="$1"
  shift
  setsid "$@" >>"$out" 2>&1 </dev/null &
  STARTED_PID=$!
}

start_simulator() {
  local seed devices site token
  seed="$(demo_const DEMO_SEED)"
  devices="$(demo_const DEMO_DEVICES)"
  site="$(demo_const DEMO_SITE)"
  token="$(demo_const DEMO_TOKEN)"
  log "Starting the ixicare simulator on $SIM_URL (seed $seed, $devices residents; log: $DEMO_CONFIG/simulator.log)"
  mkdir -p "$DEMO_CONFIG"
  _rotate "$DEMO_CONFIG/simulator.log"
  _start_group "$DEMO_CONFIG/simulator.log" \
    "$VENV/bin/python" -m ixicare_simulator --host 127.0.0.1 --port "$DEMO_SIM_PORT" \
    --site "$site:$token" --devices "$devices" --seed "$seed" \
    --scenario --rate "$DEMO_RATE" --tick "$DEMO_TICK"
  SIM_PID="$STARTED_PID"
  for _ in $(seq 1 300); do
    if port_in_use "$DEMO_SIM_PORT"; then
      return 0
    fi
    kill -0 "$SIM_PID" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$DEMO_CONFIG/simulator.log" >&2
  die "the simulator did not start (log: $DEMO_CONFIG/simulator.log)"
}

start_hass() {
  log "Starting Home Assistant on $HA_URL (log: $DEMO_CONFIG/home-assistant.log)"
  # --skip-pip: Home Assistant must not install packages into the test
  # virtualenv; requirements_dev.txt brings what the demo uses.
  _rotate "$DEMO_CONFIG/hass.console.log"
  _start_group "$DEMO_CONFIG/hass.console.log" \
    "$VENV/bin/hass" -c "$DEMO_CONFIG" --skip-pip
  HASS_PID="$STARTED_PID"
}

# Stop a process group: SIGTERM, then SIGKILL after a grace period.
_stop_group() {
  local pid="$1" name="$2"
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  log "Stopping $name" 2>/dev/null
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop within 30 s: killing it" 2>/dev/null
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  # Anything else left in the group.
  kill -KILL -- "-$pid" 2>/dev/null || true
}

# The EXIT trap. Nothing may stop it half way: not a second Ctrl-C, nor a
# closed terminal or pipe (writing the progress lines then fails, and is
# ignored), nor a failing command under set -e.
demo_stop() {
  trap '' INT TERM HUP PIPE
  set +e
  _stop_group "$HASS_PID" "Home Assistant"
  HASS_PID=""
  _stop_group "$SIM_PID" "the simulator"
  SIM_PID=""
}

# Install, prepare the config directory, start the simulator and Home
# Assistant, and set the demo up. The caller traps EXIT with demo_stop.
demo_start() {
  cd "$ROOT" || die "cannot enter $ROOT"
  ensure_demo_requirements
  for port in "$DEMO_HA_PORT" "$DEMO_SIM_PORT"; do
    if port_in_use "$port"; then
      die "port $port on 127.0.0.1 is in use (is the demo running already?); set DEMO_HA_PORT / DEMO_SIM_PORT to use others"
    fi
  done
  log "Preparing the Home Assistant configuration in $DEMO_CONFIG"
  demo_py prepare --config "$DEMO_CONFIG" --ha-port "$DEMO_HA_PORT"
  start_simulator
  start_hass
  log "Setting the demo up (first start of Home Assistant takes a minute)"
  demo_py setup --config "$DEMO_CONFIG" --ha-url "$HA_URL" --sim-url "$SIM_URL" --pid "$HASS_PID" \
    || die "setting the demo up failed (logs: $DEMO_CONFIG/home-assistant.log, $DEMO_CONFIG/simulator.log)"
}
