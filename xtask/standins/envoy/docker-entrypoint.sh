#!/usr/bin/env sh
# After envoyproxy/envoy's distribution/docker/docker-entrypoint.sh; `setpriv` (util-linux)
# takes the place of `su-exec`, which Debian does not package.
set -e

loglevel="${loglevel:-}"
USERID=$(id -u)

# if the first argument looks like a parameter (i.e. starts with '-'), run Envoy
if [ "${1#-}" != "$1" ]; then
    set -- envoy "$@"
fi

if [ "$1" = 'envoy' ]; then
    # set the log level if the $loglevel variable is set
    if [ -n "$loglevel" ]; then
        set -- "$@" --log-level "$loglevel"
    fi
fi

if [ "$ENVOY_UID" != "0" ] && [ "$USERID" = 0 ]; then
    if [ -n "$ENVOY_UID" ]; then
        usermod -u "$ENVOY_UID" envoy
    fi
    if [ -n "$ENVOY_GID" ]; then
        groupmod -g "$ENVOY_GID" envoy
    fi
    # Ensure the envoy user is able to write to container logs
    chown envoy:envoy /dev/stdout /dev/stderr
    exec setpriv --reuid=envoy --regid=envoy --init-groups "$@"
else
    exec "$@"
fi
