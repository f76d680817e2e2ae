# zsh -f tests/zsh_complete.zsh FPATH_DIR LINE
# Types LINE and a Tab into an interactive zsh (zsh/zpty) whose compinit
# finds its completion functions in FPATH_DIR first, and prints every word
# a completion function offered for it (compadd wrapped), one a line,
# sorted. Used by completion.bats; bounded: gives up after 10 s.
zmodload zsh/zpty || exit 2
zpty z zsh -f -i
zpty -w z "PS1=''; fpath=(${(q)1} \$fpath); autoload -U compinit; compinit -u -D; LISTMAX=100000"
zpty -w z 'function compadd { local -a __m; builtin compadd -O __m "$@"; (( $#__m )) && print -rl -- "<M>"${^__m} >/dev/tty; builtin compadd "$@" }'
zpty -w z 'print -r -- "RE""ADY"'
zpty -r -m z out '*READY*' || exit 2
zpty -w -n z "$2"$'\t'
zpty -w -n z $'\x15' # ^U: drop the line
zpty -w z 'print -r -- "DO""NE"'
out= chunk=
integer waited=0
while [[ $out != *DONE* ]]; do
  if zpty -r -t z chunk; then
    out+=$chunk
  else
    (( waited++ < 200 )) || { print -u2 "zsh_complete: no answer in 10 s"; exit 2; }
    sleep 0.05
  fi
done
print -r -- "$out" | tr -d '\r' | grep -a '<M>' | sed 's/.*<M>//' | LC_ALL=C sort -u
zpty -d z
