#!/usr/bin/env bash
# keeper.sh (installed as var/bin/wa-keeper): keeps COUNT copies of a program
# running and replaces any that dies, after DELAY seconds (at least one second
# when it died within a second of its start, so a crash loop does not spin).
#
#   wa-keeper COUNT DELAY PIDFILE -- PROGRAM ARGS...
#
# PIDFILE lists the live copies, one pid a line (spawn-fcgi's format). Every
# copy inherits our standard input: under spawn-fcgi that is the pool's
# listening socket, which is why a pool needs a keeper at all (a second
# spawn-fcgi cannot bind a socket that is in use). SIGTERM or SIGINT stops
# the copies and then the keeper; SIGHUP is passed on (log reopening).
# Lines about replacements go to $WA_LOG_FILE, or stderr.
set -u

[ $# -ge 5 ] && [ "$4" = -- ] || {
	echo "usage: wa-keeper COUNT DELAY PIDFILE -- PROGRAM ARGS..." >&2
	exit 2
}
count=$1 delay=$2 pidfile=$3
shift 4
declare -A started=()	# pid -> start time in microseconds
stopping=0

now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

say() {
	local line
	line="$(date -u +%Y-%m-%dT%H:%M:%SZ) wa-keeper[$$]: $*"
	if [ -n "${WA_LOG_FILE:-}" ]; then
		printf '%s\n' "$line" >> "$WA_LOG_FILE"
	else
		printf '%s\n' "$line" >&2
	fi
}

write_pids() {
	[ $stopping -eq 0 ] || return 0
	printf '%s\n' "${!started[@]}" > "$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
}

spawn() {
	# An asynchronous command's stdin would be /dev/null: hand it ours.
	"$@" <&3 3<&- &
	started[$!]=$(now_us)
}

signal_all() {	# signal_all SIG
	[ ${#started[@]} -eq 0 ] || kill -"$1" "${!started[@]}" 2>/dev/null
}

trap 'stopping=1; signal_all TERM' TERM INT
trap 'signal_all HUP' HUP
exec 3<&0

for ((i = 0; i < count; i++)); do
	spawn "$@"
done
write_pids

while [ ${#started[@]} -gt 0 ]; do
	dead=
	wait -n -p dead
	rc=$?
	if [ -z "${dead:-}" ]; then
		[ $rc -gt 128 ] && continue	# a signal interrupted the wait
		say "wait failed (status $rc): giving up"
		exit 1
	fi
	young=$(( $(now_us) - started[$dead] < 1000000 ))
	unset "started[$dead]"
	[ $stopping -eq 0 ] || continue
	write_pids
	pause=$delay
	[ "$young" -eq 1 ] && pause=1
	sleep "$pause"
	[ $stopping -eq 0 ] || continue	# stopped while we paused
	spawn "$@"
	write_pids
	say "$1 pid $dead exited (status $rc): replaced by pid $!"
done
