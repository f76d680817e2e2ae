# shellcheck shell=bash
# bash completion for muxfix(1) and muxfix-ssh.
#
#   muxfix <TAB>                subcommands, options, and the commands muxfix
#                               knows (ssh scp sftp rsync git); any command
#                               once a letter is typed
#   muxfix ssh ... <TAB>        what the command's own completion offers
#                               (bash-completion's _command_offset), so
#                               hosts as ssh completes them
#   muxfix doctor <TAB>         -F FILE, -o OPTION (ssh's options), hosts
#   muxfix clean <TAB>          --dry-run, directories
#   muxfix-ssh <TAB>            as ssh
#
# With bash-completion (recommended) hosts come from its _known_hosts_real,
# as for ssh; without it, from the Host lines of ssh_config and the
# unhashed names of known_hosts. Installed as
# share/bash-completion/completions/muxfix (and muxfix-ssh, a link).

_muxfix_subcommands='env on off doctor clean'
_muxfix_known_commands='ssh scp sftp rsync git'

# _muxfix_hosts CUR [CONFIGFILE]: hosts for CUR appended to COMPREPLY.
_muxfix_hosts() {
	local cur=$1 configfile=${2:-}
	if declare -F _known_hosts_real >/dev/null; then
		_known_hosts_real -a ${configfile:+-F "$configfile"} -- "$cur"
		return
	fi
	local -a files=()
	local f
	if [[ -n $configfile ]]; then
		files+=("$configfile")
	else
		files+=(~/.ssh/config /etc/ssh/ssh_config)
	fi
	local hosts
	# Host lines (not patterns), then the first field of known_hosts
	# (comma-separated names, [host]:port, hashed |1| names skipped).
	hosts=$(
		for f in "${files[@]}"; do
			[[ -r $f ]] || continue
			awk 'tolower($1) == "host" { for (i = 2; i <= NF; i++) if ($i !~ /[*?!]/) print $i }' "$f"
		done
		for f in ~/.ssh/known_hosts /etc/ssh/ssh_known_hosts; do
			[[ -r $f ]] || continue
			awk '$1 !~ /^[|#@]/ { n = split($1, h, ","); for (i = 1; i <= n; i++) { sub(/^\[/, "", h[i]); sub(/\]:[0-9]+$/, "", h[i]); print h[i] } }' "$f"
		done
	)
	local IFS=$'\n'
	# shellcheck disable=SC2207 # one host a line, no spaces in a host
	COMPREPLY+=($(compgen -W "$hosts" -- "$cur") $(compgen -A hostname -- "$cur"))
}

# _muxfix_ssh_option CUR: an ssh -o option (Name=value) for CUR.
_muxfix_ssh_option() {
	local cur=$1
	if ! declare -F _ssh_options >/dev/null && declare -F __load_completion >/dev/null; then
		__load_completion ssh
	fi
	if [[ $cur == *=* ]] && declare -F _ssh_suboption >/dev/null; then
		_ssh_suboption "$cur"
	elif declare -F _ssh_options >/dev/null; then
		_ssh_options
	else
		compopt -o nospace 2>/dev/null
		# shellcheck disable=SC2207 # fixed words
		COMPREPLY=($(compgen -W 'ControlMaster= ControlPath= ControlPersist= HostName= Port= User=' -- "$cur"))
	fi
}

# The words of `muxfix doctor`, from index $1 to the cursor.
_muxfix_doctor() {
	local first=$1 cur=$2 prev=$3 i configfile='' host=''
	for ((i = first; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-F) configfile=${COMP_WORDS[i + 1]:-}; ((i++)) ;;
		-o) ((i++)) ;;
		-*) ;;
		*) host=${COMP_WORDS[i]} ;;
		esac
	done
	case $prev in
	-F)
		compopt -o filenames 2>/dev/null
		local IFS=$'\n'
		# shellcheck disable=SC2207 # file names, split on newlines
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-o) _muxfix_ssh_option "$cur"; return ;;
	esac
	if [[ $cur == -* ]]; then
		# shellcheck disable=SC2207 # fixed words
		COMPREPLY=($(compgen -W '-F -o -h --help' -- "$cur"))
	elif [[ -z $host ]]; then
		# shellcheck disable=SC2088 # a literal ~ for ssh to expand
		[[ $configfile == '~/'* ]] && configfile=$HOME/${configfile#'~/'}
		_muxfix_hosts "$cur" "$configfile"
	fi
}

# No bash-completion: ssh's arguments are hosts (and -o options), any
# other command's files (readline's default).
_muxfix_command_fallback() {
	local cmd=${COMP_WORDS[$1]##*/} cur=$2 prev=$3
	if [[ $cmd == ssh ]] && ((COMP_CWORD > $1)); then
		if [[ $prev == -o ]]; then
			_muxfix_ssh_option "$cur"
			return
		fi
		[[ $cur == -* ]] || _muxfix_hosts "$cur"
	fi
	((${#COMPREPLY[@]} > 0)) || compopt -o default 2>/dev/null
}

_muxfix() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]:-}
	local i cmd_at='' after_dashdash=0
	COMPREPLY=()
	# The first word that is not one of muxfix's own options is the
	# subcommand or the command to run; after '--', always a command.
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--) after_dashdash=1; cmd_at=$((i + 1)); break ;;
		-h | --help | -V | --version) return 0 ;;
		-*) ;;
		*) cmd_at=$i; break ;;
		esac
	done
	if [[ -z $cmd_at || $cmd_at -eq $COMP_CWORD ]]; then
		local IFS=$'\n'
		if [[ $after_dashdash -eq 0 && $cur == -* ]]; then
			# shellcheck disable=SC2207 # fixed words
			COMPREPLY=($(compgen -W $'-v\n-V\n--version\n-h\n--help\n--' -- "$cur"))
		elif [[ $after_dashdash -eq 0 && -z $cur ]]; then
			# shellcheck disable=SC2207 # fixed words
			COMPREPLY=($(compgen -W "${_muxfix_subcommands// /$'\n'}"$'\n'"${_muxfix_known_commands// /$'\n'}" -- ""))
		else
			local subs=''
			[[ $after_dashdash -eq 0 ]] && subs=${_muxfix_subcommands// /$'\n'}
			# shellcheck disable=SC2207 # one name a line
			COMPREPLY=($(compgen -W "$subs" -- "$cur") $(compgen -c -- "$cur" | LC_ALL=C sort -u))
		fi
		return 0
	fi
	if [[ $after_dashdash -eq 0 ]]; then
		case ${COMP_WORDS[cmd_at]} in
		env | on | off) return 0 ;;
		doctor) _muxfix_doctor $((cmd_at + 1)) "$cur" "$prev"; return 0 ;;
		clean)
			if [[ $cur == -* ]]; then
				# shellcheck disable=SC2207 # fixed words
				COMPREPLY=($(compgen -W '--dry-run -n -h --help --' -- "$cur"))
			else
				compopt -o filenames 2>/dev/null
				local IFS=$'\n'
				# shellcheck disable=SC2207 # directory names, split on newlines
				COMPREPLY=($(compgen -d -- "$cur"))
			fi
			return 0
			;;
		esac
	fi
	# A command: its own completion, as `sudo CMD` and `env CMD` do.
	if declare -F _command_offset >/dev/null; then
		_command_offset "$cmd_at"
	else
		_muxfix_command_fallback "$cmd_at" "$cur" "$prev"
	fi
}

# muxfix-ssh takes ssh's arguments: complete as `ssh ...` with the first
# word replaced.
_muxfix_ssh() {
	local word0=${COMP_WORDS[0]}
	if declare -F _command_offset >/dev/null && [[ $COMP_LINE == "$word0"* ]]; then
		COMP_WORDS[0]=ssh
		COMP_LINE=ssh${COMP_LINE#"$word0"}
		COMP_POINT=$((COMP_POINT - ${#word0} + 3))
		_command_offset 0
	else
		COMPREPLY=()
		local cur=${COMP_WORDS[COMP_CWORD]}
		[[ $cur == -* ]] || _muxfix_hosts "$cur"
		((${#COMPREPLY[@]} > 0)) || compopt -o default 2>/dev/null
	fi
}

complete -F _muxfix muxfix
complete -F _muxfix_ssh muxfix-ssh
