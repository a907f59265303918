# Shell helpers shared by the bench scripts (sourced, not run).

# median of the given numbers
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# HH:MM:SS.mmm (a log timestamp's time of day) -> seconds since midnight
to_seconds() { echo "$1" | awk -F: '{printf "%.3f", $1 * 3600 + $2 * 60 + $3}'; }
