#!/usr/bin/env bash
# Install, start and prepare the PostgreSQL 15 + PostGIS 3 server the tests
# use (as root). Idempotent. Creates role/database "geoenergy"/"geoenergy_test"
# with the postgis extension; the tests create one database per test from it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/install-system.sh" postgresql-15 postgresql-15-postgis-3 postgresql-client-15
if ! pg_lsclusters -h 2>/dev/null | grep -q "^15 *main"; then
  pg_createcluster 15 main >/dev/null
fi
if ! pg_lsclusters -h | grep -q "^15 *main .* online"; then
  pg_ctlcluster 15 main start
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done
pg_isready -h 127.0.0.1 -p 5432
psql_admin() { su postgres -c "psql -v ON_ERROR_STOP=1 -qAt $*"; }
if [ "$(psql_admin "-c \"SELECT 1 FROM pg_roles WHERE rolname='geoenergy'\"")" != "1" ]; then
  psql_admin "-c \"CREATE ROLE geoenergy LOGIN SUPERUSER PASSWORD 'geoenergy'\""
fi
if [ "$(psql_admin "-c \"SELECT 1 FROM pg_database WHERE datname='geoenergy_test'\"")" != "1" ]; then
  psql_admin "-c \"CREATE DATABASE geoenergy_test OWNER geoenergy\""
fi
psql_admin "-d geoenergy_test -c \"CREATE EXTENSION IF NOT EXISTS postgis\""
echo "PostGIS ready: postgresql+psycopg://geoenergy:geoenergy@127.0.0.1:5432/geoenergy_test"
