#!/bin/sh
# fuzz/run.sh BINDIR SECONDS TARGET...: run each libFuzzer target for SECONDS
# on a fresh copy of its seed corpus (fuzz/corpus/TARGET) under BINDIR, so
# generated inputs never land in the source tree. Prints libFuzzer's
# "Done N runs in S second(s)" line per target; on a crash, the tail of the
# log and the artifact's path, and exits 1. Called by `make fuzz`.
set -u
bindir=$1 seconds=$2
shift 2
status=0
for t in "$@"; do
	work=$bindir/work/$t
	rm -rf "$work"
	mkdir -p "$work"
	cp -R "fuzz/corpus/$t" "$work/corpus"
	log=$work/log
	# -max_len: classify needs little more than a sockaddr_un; the parser's
	# limits (PATH_MAX per pattern, 16 KiB arena) need long values.
	case $t in
	classify_fuzz) max_len=512 ;;
	config_fuzz) max_len=20000 ;;
	*) max_len=4096 ;;
	esac
	"$bindir/$t" -max_total_time="$seconds" -timeout=10 -max_len="$max_len" \
		-artifact_prefix="$work/" -print_final_stats=1 \
		"$work/corpus" >"$log" 2>&1
	rc=$?
	done_line=$(grep -E '^Done [0-9]+ runs in' "$log" | tail -n 1)
	if [ "$rc" -ne 0 ] || [ -z "$done_line" ]; then
		echo "$t: FAILED (exit $rc); log: $log" >&2
		tail -n 40 "$log" >&2
		ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null >&2
		status=1
		continue
	fi
	echo "$t: $done_line (corpus $(ls "$work/corpus" | wc -l) inputs)"
done
exit $status
