# bash completion for wvoice(1): the commands, each command's flags, file
# and directory names where a flag takes one, and the words --auth,
# --summary and --playout take. Plain bash (compgen, compopt): it needs nothing from the
# bash-completion package, which loads it on demand when installed.
#
# The flags are those of each command's --help; tests/cli/test_completion.py
# fails when the two differ.

_wvoice_commands="call demo devices load serve"
_wvoice_call_flags="--url --api-key --api-key-file --auth --agent --from
	--metadata --synthetic --input --input-device --output --output-device
	--script --events --events-max --dtmf --mute --hangup-after
	--playout --prebuffer-ms --connect-timeout --ca --insecure --summary
	--quiet --verbose --help --version"
_wvoice_serve_flags="--listen --port --api-key --tls-cert --tls-key --script
	--record --max-calls --idle-timeout --allow-origin --voice --web --verbose
	--quiet --help --version"
_wvoice_load_flags="--url --api-key --api-key-file --auth --agent --calls
	--rate --ramp --duration --script --input --impair --shard --report
	--csv --html --fail-if --playout --prebuffer-ms --connect-timeout --ca
	--insecure --quiet --help --version"
# wvoice load merge FILE.json...: the shards' reports, and where to write.
_wvoice_merge_flags="--report --csv --html --fail-if --help"
_wvoice_demo_flags="--dir --quiet --help --version"
_wvoice_devices_flags="--json --help --version"
# The flags above that take a value: no flag is offered in its place.
_wvoice_valued="--url --api-key --api-key-file --auth --agent --from
	--metadata --input --input-device --output --output-device --events
	--events-max --dtmf --mute --hangup-after --prebuffer-ms --connect-timeout --ca
	--summary --listen --port --tls-cert --tls-key --script --record
	--max-calls --idle-timeout --allow-origin --voice --dir --web --calls --rate --ramp
	--duration --impair --shard --report --csv --html --fail-if --playout"

# Whether WORD is one of the words after it.
_wvoice_has()
{
	local word=$1 w
	shift
	for w; do
		[[ $w == "$word" ]] && return 0
	done
	return 1
}

# COMPREPLY from compgen ARGS... -- WORD, one name a line (names may hold
# spaces).
_wvoice_reply()
{
	local line
	while IFS= read -r line; do
		COMPREPLY+=("$line")
	done < <(compgen "$@")
}

# Completes the value of FLAG of COMMAND, the part of it being typed being
# CUR.
_wvoice_value()
{
	local flag=$1 cur=$2 command=$3
	case $flag in
	--input | --output | --ca | --api-key-file | --tls-cert | --tls-key | \
	--events | --script | --report | --csv | --html)
		# serve's --script NAME=FILE: the name is the user's; the file is
		# not. call's --script takes a file.
		if [[ $flag == --script && $command == serve ]]; then
			[[ $cur == *=* ]] || return 0
			_wvoice_prefix+=${cur%%=*}=
			cur=${cur#*=}
		fi
		# - is standard input (--api-key-file) or output (--events).
		if [[ $flag == --api-key-file || $flag == --events ]] &&
			[[ -z $cur || $cur == - ]]; then
			COMPREPLY+=(-)
		fi
		compopt -o filenames 2>/dev/null
		_wvoice_reply -f -- "$cur"
		;;
	--record | --dir | --web)
		compopt -o filenames 2>/dev/null
		_wvoice_reply -d -- "$cur"
		;;
	--auth)
		_wvoice_reply -W "subprotocol header" -- "$cur"
		;;
	--summary)
		_wvoice_reply -W "text json" -- "$cur"
		;;
	--playout)
		_wvoice_reply -W "adaptive fixed" -- "$cur"
		;;
	esac
}

_wvoice()
{
	COMPREPLY=()
	local cword=$COMP_CWORD
	local cur=${COMP_WORDS[cword]}
	local words=("${COMP_WORDS[@]:0:cword}")
	local n=${#words[@]} flag=
	# What goes back in front of each name (below); _wvoice_value adds to it.
	local _wvoice_prefix=

	# ':' is a word break by default (COMP_WORDBREAKS): only --listen's and
	# --url's values hold one, and they are the user's to type.
	if [[ $cur == : || ${words[n - 1]} == : ]]; then
		return 0
	fi
	# So is '=': bash hands "--input=a.wav" over as "--input" "=" "a.wav",
	# and "--script n=f.json" as "--script" "n" "=" "f.json", completing
	# only what follows the '='. Where '=' is no word break the whole word
	# comes, and the part before '=' goes back in front of each name.
	if [[ $cur == = ]]; then
		words+=("=")
		cur=
		n=$((n + 1))
	fi
	if ((n >= 2)) && [[ ${words[n - 1]} == = ]]; then
		if [[ ${words[n - 2]} == --* ]]; then
			flag=${words[n - 2]}
		elif ((n >= 3)) && [[ ${words[n - 3]} == --script &&
			${words[1]} == serve ]]; then
			flag=--script
			cur=${words[n - 2]}=$cur
		fi
	elif [[ $cur == --*=* ]]; then
		flag=${cur%%=*}
		_wvoice_prefix=$flag=
		cur=${cur#*=}
	elif ((n >= 2)); then
		flag=${words[n - 1]}
	fi

	if ((cword == 1)); then
		if [[ $cur == -* ]]; then
			_wvoice_reply -W "--help --version" -- "$cur"
		else
			_wvoice_reply -W "$_wvoice_commands help" -- "$cur"
		fi
		return 0
	fi
	if [[ ${words[1]} == help ]]; then
		((cword == 2)) && _wvoice_reply -W "$_wvoice_commands" -- "$cur"
		return 0
	fi

	local flags
	case ${words[1]} in
	call) flags=$_wvoice_call_flags ;;
	load)
		if [[ ${words[2]} == merge ]]; then
			flags=$_wvoice_merge_flags
			if [[ $cur != -* ]] && ! _wvoice_has "$flag" $_wvoice_valued; then
				compopt -o filenames 2>/dev/null
				_wvoice_reply -f -X '!*.json' -- "$cur"
				_wvoice_reply -d -- "$cur"
				return 0
			fi
		elif ((cword == 2)) && [[ $cur != -* ]]; then
			_wvoice_reply -W "merge $_wvoice_load_flags" -- "$cur"
			return 0
		else
			flags=$_wvoice_load_flags
		fi
		;;
	serve) flags=$_wvoice_serve_flags ;;
	demo) flags=$_wvoice_demo_flags ;;
	devices) flags=$_wvoice_devices_flags ;;
	*) return 0 ;;
	esac

	# shellcheck disable=SC2086 # the lists are words
	if _wvoice_has "$flag" $_wvoice_valued && _wvoice_has "$flag" $flags; then
		_wvoice_value "$flag" "$cur" "${words[1]}"
		if [[ -n $_wvoice_prefix && $COMP_WORDBREAKS != *=* ]]; then
			COMPREPLY=("${COMPREPLY[@]/#/$_wvoice_prefix}")
		fi
		return 0
	fi
	# The commands take no operands: flags, whatever is typed.
	_wvoice_reply -W "$flags" -- "$cur"
	return 0
}

complete -F _wvoice wvoice
