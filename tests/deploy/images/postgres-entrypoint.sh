#!/bin/sh
# A new cluster on the first start (as postgres:16's entrypoint does), then the command.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/pwfile
    initdb --pgdata "$PGDATA" --username "$POSTGRES_USER" --pwfile /tmp/pwfile \
        --auth-local trust --auth-host scram-sha-256 --encoding UTF8 --no-locale
    rm /tmp/pwfile
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\"" \
        | postgres --single -D "$PGDATA" postgres > /dev/null
fi
exec "$@" -c listen_addresses='*'
