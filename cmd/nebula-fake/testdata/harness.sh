#!/usr/bin/env bash
# A harness that is not Go: start nebula-fake in the background, take
# NEBULA_API_URL, NEBULA_API_KEY and NEBULA_INFERENCE_URL from its first
# three lines, talk to it, stop it. main_test.go runs this script with NEBULA_FAKE set to a built binary
# (go build -o nebula-fake ./cmd/nebula-fake).
set -euo pipefail
fake=${NEBULA_FAKE:?set NEBULA_FAKE to the nebula-fake binary}

coproc FAKE { exec "$fake" -addr 127.0.0.1:0 2>/dev/null; }
fake_pid=$FAKE_PID
trap 'kill "$fake_pid" 2>/dev/null || true' EXIT

# The first three lines, then stop reading: the fake writes nothing more there.
read -r url_line <&"${FAKE[0]}"
read -r key_line <&"${FAKE[0]}"
read -r inference_line <&"${FAKE[0]}"
case $url_line in NEBULA_API_URL=http://*) ;; *) echo "harness: unexpected line 1" >&2; exit 1 ;; esac
case $key_line in NEBULA_API_KEY=ak_*) ;; *) echo "harness: unexpected line 2" >&2; exit 1 ;; esac
case $inference_line in NEBULA_INFERENCE_URL=http://*/v1) ;; *) echo "harness: unexpected line 3" >&2; exit 1 ;; esac
export "$url_line" "$key_line" "$inference_line"

# Any tool can use them now; plain bash can too, through /dev/tcp.
hostport=${NEBULA_API_URL#http://}
hostport=${hostport%%/*}
base_path=/${NEBULA_API_URL#http://*/}
exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}"
printf 'GET %s/api_keys HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' \
    "$base_path" "$hostport" "$NEBULA_API_KEY" >&3
answer=$(cat <&3)
exec 3<&-
case $answer in
*'"status":"success"'*) ;;
*) echo "harness: GET /api_keys did not succeed" >&2; exit 1 ;;
esac

# The OpenAI-compatible surface, with the same key.
exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}"
printf 'GET /%s/models HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' \
    "${NEBULA_INFERENCE_URL#http://*/}" "$hostport" "$NEBULA_API_KEY" >&3
answer=$(cat <&3)
exec 3<&-
case $answer in
*'"id":"WhereIsAI/UAE-Large-V1"'*) ;;
*) echo "harness: GET /v1/models did not list the embedding model" >&2; exit 1 ;;
esac

kill -TERM "$fake_pid"
status=0
wait "$fake_pid" || status=$?
trap - EXIT
if [ "$status" -ne 0 ]; then
    echo "harness: nebula-fake exited with $status" >&2
    exit 1
fi
echo "harness: ok"
