# Minigroup service recipes. `just` lists them.

set dotenv-load := false

default:
    @just --list

# Run the service (SQLite and local stand-ins unless configured otherwise).
run *ARGS:
    cargo run -p app -- {{ARGS}}

# Run the whole test suite (PostgreSQL tests run where a server answers).
test *ARGS:
    cargo test --workspace {{ARGS}}

# Run the tests and fail if PostgreSQL is not reachable.
test-pg *ARGS:
    REQUIRE_POSTGRES=1 cargo test --workspace {{ARGS}}

# Format the code.
fmt:
    cargo fmt --all

# Lint: formatting check and clippy with warnings denied.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Start the local PostgreSQL server if it is not running.
db-up:
    pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    pg_isready -h 127.0.0.1 -p 5432

# Run against the local PostgreSQL server (creates the database `minigroups`).
run-pg: db-up
    psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'minigroups'" | grep -q 1 || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE minigroups"
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/minigroups cargo run -p app

# Everything CI checks.
check: lint test-pg
