#!/usr/bin/env bash
# End-to-end test of the BUILT nebula binary against the BUILT nebula-fake:
# login; create and --wait; list; invoice download; delete; a create whose
# answer is lost (found when it was made, else exit 3 naming the lookup);
# Ctrl-C during --wait (exit 130, the instance still there). Needs only bash and Go.
#
#   bash cmd/nebula/testdata/e2e.sh        (from anywhere in the checkout)
set -euo pipefail
cd "$(dirname "$0")/../../.."

work=$(mktemp -d)
fake_pids=()
cleanup() {
  for pid in "${fake_pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${fake_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "e2e: FAIL: $*" >&2; for f in "$work"/*.err; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; } >&2; done; exit 1; }
ok() { echo "e2e: ok: $*"; }

go build -o "$work/nebula" ./cmd/nebula
go build -o "$work/nebula-fake" ./cmd/nebula-fake
nebula() { "$work/nebula" "$@"; }

# start_fake BOOT_TIME PREFIX: starts a fake, sets ${PREFIX}_url and
# ${PREFIX}_key from its first two stdout lines.
start_fake() {
  local out="$work/fake-$2.out"
  "$work/nebula-fake" -addr 127.0.0.1:0 -boot-time "$1" >"$out" 2>"$work/fake-$2.log" &
  fake_pids+=($!)
  for _ in $(seq 100); do
    [ "$(wc -l <"$out")" -ge 2 ] && break
    sleep 0.1
  done
  local u k
  u=$(sed -n 's/^NEBULA_API_URL=//p' "$out")
  k=$(sed -n 's/^NEBULA_API_KEY=//p' "$out")
  [ -n "$u" ] && [ -n "$k" ] || fail "nebula-fake did not start"
  printf -v "${2}_url" '%s' "$u"
  printf -v "${2}_key" '%s' "$k"
}

# post_fault URL JSON: POST /_fake/faults with bash's /dev/tcp (no curl needed).
post_fault() {
  local hostport=${1#http://}
  hostport=${hostport%%/*}
  exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}"
  printf 'POST /_fake/faults HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$hostport" "${#2}" "$2" >&3
  local proto status
  read -r proto status _ <&3 || true
  exec 3<&- 3>&-
  [[ $status == 2* ]] || fail "the fake refused the fault: $proto $status"
}

# expect_exit CODE CMD...: runs CMD (stdout to $work/out, stderr to
# $work/last.err) and checks its exit status.
expect_exit() {
  local want=$1 rc=0
  shift
  "$@" >"$work/out" 2>"$work/last.err" || rc=$?
  [ "$rc" -eq "$want" ] || fail "$* exited $rc, want $want"
}

start_fake 1s fast
export NEBULA_CONFIG="$work/config.toml"
unset NEBULA_API_KEY NEBULA_API_URL

# --- login: the key from stdin, checked, saved 0600; never printed.
printf '%s\n' "$fast_key" | nebula auth login --api-url "$fast_url" 2>"$work/login.err"
[ -n "$(find "$NEBULA_CONFIG" -perm 600)" ] || fail "config is not 0600: $(ls -l "$NEBULA_CONFIG")"
nebula auth status >"$work/status.out"
grep -q "ak_\.\.\.${fast_key: -4}" "$work/status.out" || fail "auth status: $(cat "$work/status.out")"
ok "login (config 0600, key masked)"

chmod 644 "$NEBULA_CONFIG"
expect_exit 2 nebula instance list
grep -q "chmod 600" "$work/last.err" || fail "no chmod hint: $(cat "$work/last.err")"
chmod 600 "$NEBULA_CONFIG"
ok "a config readable by others is refused (exit 2, chmod 600)"

# --- the catalog and an SSH key.
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl e2e@example" >"$work/id.pub"
ssh_key=$(nebula ssh-key create e2e --public-key-file "$work/id.pub" --columns id --no-header)
product=$(nebula product list --gpu RTX-A6000 --columns id --no-header | head -n1)
image=$(nebula image list --product "$product" --columns id --no-header | head -n1)
[ -n "$ssh_key" ] && [ -n "$product" ] && [ -n "$image" ] || fail "catalog: key=$ssh_key product=$product image=$image"
ok "ssh-key create, product list, image list --product"

# --- create and wait: progress on stderr, the instance as JSON on stdout.
nebula instance create e2e-1 --product "$product" --image "$image" --ssh-key "$ssh_key" --wait -o json \
  >"$work/create.json" 2>"$work/create.err" || fail "create --wait"
grep -q '"status": "Running"' "$work/create.json" || fail "create --wait: $(cat "$work/create.json")"
grep -q 'Creating' "$work/create.err" && grep -q 'Running' "$work/create.err" || fail "no progress: $(cat "$work/create.err")"
id=$(sed -n 's/^  "id": "\(.*\)",$/\1/p' "$work/create.json")
[ -n "$id" ] || fail "no id in $(cat "$work/create.json")"
ok "instance create --wait (progress on stderr, JSON on stdout)"

nebula instance list --columns id,name,status --no-header >"$work/list.out"
grep -q "^$id *e2e-1 *Running$" "$work/list.out" || fail "list: $(cat "$work/list.out")"
ok "instance list"

# --- invoice download: a PDF under the final name.
invoice=$(nebula billing invoice list --columns id --no-header | head -n1)
nebula billing invoice download "$invoice" -O "$work/invoice.pdf" >/dev/null 2>"$work/download.err"
[ "$(head -c 5 "$work/invoice.pdf")" = "%PDF-" ] || fail "invoice download"
ok "billing invoice download"

# --- --debug: the SDK's records on stderr (the final check finds no key there).
nebula billing balance --debug >/dev/null 2>"$work/debug.err"
grep -q "level=DEBUG" "$work/debug.err" || fail "--debug wrote no records"
ok "--debug"

# --- bad usage sends nothing: exit 2.
expect_exit 2 nebula instance wait "$id" --status Runing
ok "unknown status: exit 2"

# --- delete and wait; then it is listed among the deleted, not found by name.
nebula instance delete "$id" --wait >"$work/delete.out" 2>"$work/delete.err" || fail "delete --wait"
nebula instance list --deleted --columns id --no-header | grep -qx "$id" || fail "not among the deleted"
expect_exit 4 nebula instance lookup e2e-1
ok "instance delete --wait; lookup of the deleted name: exit 4"

# --- a create whose answer is lost is sent once. After the fake committed
# it, Create finds the instance: exit 0. When the fake did not, the outcome
# stays unknown: exit 3 names the lookup, which finds nothing (exit 4).
post_fault "$fast_url" '{"method":"POST","path":"/computing/instance","hang_up":"after"}'
expect_exit 0 nebula instance create e2e-2 --product "$product" --image "$image" --ssh-key "$ssh_key" --columns name --no-header
grep -qx "e2e-2" "$work/out" || fail "create e2e-2 after a lost answer: $(cat "$work/out")"
post_fault "$fast_url" '{"method":"POST","path":"/computing/instance","hang_up":"before"}'
expect_exit 3 nebula instance create e2e-4 --product "$product" --image "$image" --ssh-key "$ssh_key"
grep -q "nebula instance lookup e2e-4" "$work/last.err" || fail "no lookup hint: $(cat "$work/last.err")"
[ ! -s "$work/out" ] || fail "stdout after exit 3: $(cat "$work/out")"
expect_exit 4 nebula instance lookup e2e-4
ok "answer lost: the instance found when made (exit 0), else exit 3 naming the lookup"

# --- Ctrl-C during --wait: exit 130, the instance still there. A second
# fake whose instances stay Creating for an hour.
start_fake 1h slow
printf '%s\n' "$slow_key" | nebula auth login --context slow --api-url "$slow_url" 2>/dev/null
slow_ssh=$(nebula ssh-key create e2e --public-key-file "$work/id.pub" --columns id --no-header)
set -m # the command gets its own process group, as a foreground job would
"$work/nebula" instance create e2e-3 --product "$product" --image "$image" --ssh-key "$slow_ssh" --wait \
  >"$work/slow.out" 2>"$work/slow.err" &
pid=$!
set +m
for _ in $(seq 300); do
  grep -q Creating "$work/slow.err" && break
  sleep 0.1
done
grep -q Creating "$work/slow.err" || fail "the wait never started"
kill -INT "$pid"
for _ in $(seq 100); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  kill -KILL "$pid"
  fail "Ctrl-C did not stop the wait within 10 s"
fi
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 130 ] || fail "Ctrl-C during --wait exited $rc, want 130"
grep -q "nothing was deleted" "$work/slow.err" || fail "no note: $(cat "$work/slow.err")"
[ "$(nebula instance lookup e2e-3 --columns status --no-header)" = "Creating" ] || fail "the instance is gone"
ok "Ctrl-C during --wait: exit 130, the instance still there"

# --- no key value printed anywhere but the config file.
if grep -rlF -e "$fast_key" -e "$slow_key" "$work" --exclude=config.toml --exclude='fake-*.out' --exclude=nebula --exclude=nebula-fake; then
  fail "a key value was printed"
fi
ok "no key value in any output"
echo "e2e: PASS"
