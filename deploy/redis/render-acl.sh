#!/bin/sh
# Renders the aclfile redis-server loads (--aclfile) from users.acl.template:
#   render-acl.sh <template> <aclfile>
# Each #{VARIABLE} becomes #<sha256 of $VARIABLE>, so the rendered file holds no password in clear
# and the template in git holds none at all; comment and blank lines go, since Redis refuses them
# in an aclfile. Fails, naming the variable, when one is unset, shorter than 16 characters or has
# a character a redis:// URL would need escaped. POSIX sh and busybox (the redis:7-alpine image).
set -eu

template=$1
aclfile=$2
partial="$aclfile.partial"
umask 077
trap 'rm -f "$partial"' EXIT

grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$template" >"$partial"
for variable in $(grep -o '#{[A-Z_][A-Z0-9_]*}' "$partial" | sed 's/^#{\(.*\)}$/\1/' | sort -u); do
  # The name matched [A-Z_][A-Z0-9_]* above, so eval only ever reads a variable.
  eval "value=\${$variable:-}"
  if [ -z "$value" ]; then
    echo "render-acl: $variable is not set (copy .env.example to .env, or export it)" >&2
    exit 1
  fi
  if [ "${#value}" -lt 16 ]; then
    echo "render-acl: $variable is shorter than 16 characters" >&2
    exit 1
  fi
  case $value in
    *[!A-Za-z0-9._~-]*)
      echo "render-acl: $variable may hold only A-Z a-z 0-9 . _ ~ - (it goes into a redis:// URL)" >&2
      exit 1
      ;;
  esac
  hash=$(printf '%s' "$value" | sha256sum | cut -c1-64)
  sed -i "s/#{$variable}/#$hash/g" "$partial"
done
mv "$partial" "$aclfile"
echo "render-acl: wrote $aclfile"
